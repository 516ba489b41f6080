import { createConsentKit } from "@consentkit/core"
import { sql } from "kysely"
import { benchPolicy } from "./policy.js"
import { type Figure, spread } from "./stats.js"
import { type BenchDatabase, type Engine, openBenchDatabase } from "./stores.js"

const SUBJECTS = Number(process.env.BENCH_AUDIENCE ?? 1_000_000)
const TENANT = "bench"
const PAGE = Number(process.env.BENCH_PAGE ?? 1_000)

/** Seeds subjects straight into the subject and state tables (one statement each): 9 in 10 grant analytics. */
const seed = async ({ engine, db, prefix }: BenchDatabase) => {
  const now = Date.now()
  const t = (name: string) => sql.table(`${prefix}${name}`)
  if (engine === "postgres") {
    const id = sql`'s' || lpad(g::text, 7, '0')`
    await sql`insert into ${t("subject")} (tenant, subject, seq, head, jurisdiction, age, created_at)
      select ${TENANT}, ${id}, 1, 'h', 'TH', null, ${now}::bigint from generate_series(1, ${SUBJECTS}::int) g`.execute(
      db,
    )
    await sql`insert into ${t("state")} (tenant, subject, purpose, status, notice_version, occurred_at, expires_at, event_id, seq, source, actor, guardian_granted)
      select ${TENANT}, ${id}, 'analytics', case when g % 10 = 0 then 'withdrawn' else 'granted' end, 1, ${now}::bigint, null, 'e' || g, 1, 'import', 'subject', 0
      from generate_series(1, ${SUBJECTS}::int) g`.execute(db)
    await sql`analyze ${t("state")}`.execute(db)
    await sql`analyze ${t("subject")}`.execute(db)
  } else {
    const series = sql`with recursive g(x) as (select 1 union all select x + 1 from g where x < ${SUBJECTS})`
    const id = sql`'s' || substr('0000000' || x, -7, 7)`
    await sql`${series} insert into ${t("subject")} (tenant, subject, seq, head, jurisdiction, age, created_at)
      select ${TENANT}, ${id}, 1, 'h', 'TH', null, ${now} from g`.execute(db)
    await sql`${series} insert into ${t("state")} (tenant, subject, purpose, status, notice_version, occurred_at, expires_at, event_id, seq, source, actor, guardian_granted)
      select ${TENANT}, ${id}, 'analytics', case when x % 10 = 0 then 'withdrawn' else 'granted' end, 1, ${now}, null, 'e' || x, 1, 'import', 'subject', 0 from g`.execute(
      db,
    )
    await sql`analyze`.execute(db)
  }
}

/** A plain cursor over the granted rows: better-sqlite3's iterator on SQLite, DECLARE/FETCH on PostgreSQL. */
const plainCursor = async ({ engine, db, prefix }: BenchDatabase): Promise<number> => {
  const granted = db
    .selectFrom(`${prefix}state`)
    .select("subject")
    .where("tenant", "=", TENANT)
    .where("purpose", "=", "analytics")
    .where("status", "=", "granted")
    .orderBy("subject")
  let n = 0
  if (engine === "sqlite") {
    for await (const _row of granted.stream(PAGE)) n++
    return n
  }
  await db.transaction().execute(async (trx) => {
    await sql`declare audience no scroll cursor for ${granted}`.execute(trx)
    for (;;) {
      const page = await sql<{ subject: string }>`fetch ${sql.raw(String(PAGE))} from audience`.execute(trx)
      if (page.rows.length === 0) break
      n += page.rows.length
    }
  })
  return n
}

/** An audience of 1,000,000 subjects streamed by `kit.audience` (decided in full, page by page) vs a plain cursor over the same rows. */
export const audienceScenario = async (engine: Engine, runs: number): Promise<Figure> => {
  const database = await openBenchDatabase(engine)
  const kit = createConsentKit({
    policy: benchPolicy,
    store: database.store,
    secret: "bench-0123456789abcdef0123456789abcdef",
    dispatcher: { autoStart: false },
  })
  const ours: Array<number> = []
  const theirs: Array<number> = []
  let seedSeconds = 0
  try {
    const started = performance.now()
    await seed(database)
    seedSeconds = (performance.now() - started) / 1000
    for (let r = 0; r < runs; r++) {
      let start = performance.now()
      let n = 0
      for await (const _subject of kit.audience({ tenant: TENANT, purpose: "analytics", pageSize: PAGE })) n++
      const oursSeconds = (performance.now() - start) / 1000
      start = performance.now()
      const m = await plainCursor(database)
      const theirsSeconds = (performance.now() - start) / 1000
      if (n !== m || n !== SUBJECTS - Math.floor(SUBJECTS / 10))
        throw new Error(`the audience held ${n} subjects, the cursor ${m}`)
      ours.push(n / oursSeconds)
      theirs.push(m / theirsSeconds)
    }
  } finally {
    await kit.close()
    await database.close()
  }
  return {
    scenario: `audience of ${SUBJECTS.toLocaleString("en-US")} subjects, ${engine === "sqlite" ? "SQLite file" : "PostgreSQL"}`,
    subject: `kit.audience (pages of ${PAGE}, each subject decided)`,
    baseline: "plain cursor over the granted rows",
    unit: "subjects/s",
    ours: spread(ours),
    theirs: spread(theirs),
    ratio: spread(ours.map((o, i) => o / theirs[i]!)),
    goal: "reported",
    met: null,
    note: `seeded with two INSERT … SELECT statements in ${seedSeconds.toFixed(1)} s; kit.audience reads each page's state and subject rows and decides every subject, the cursor reads one column.`,
  }
}
