import { Adapter, createConsentKit, Intent } from "@consentkit/core"
import Database from "better-sqlite3"
import { sql } from "kysely"
import { benchPolicy } from "./policy.js"
import { type Figure, spread } from "./stats.js"
import { type BenchDatabase, type Engine, openBenchDatabase, pool } from "./stores.js"

const SECRET = "bench-0123456789abcdef0123456789abcdef"
const THREE = ["analytics", "marketing", "marketing.email"] as const

/** One adapter that takes every intent, so each record enqueues its deliveries as an app's would. */
const sink = Adapter.fromHandlers({
  name: "sink",
  role: "tracker",
  handlers: Object.fromEntries(Intent.KINDS.map((k) => [k, async () => undefined])),
})

const kitOn = (database: BenchDatabase) =>
  createConsentKit({
    policy: benchPolicy,
    store: database.store,
    secret: SECRET,
    adapters: [sink],
    dispatcher: { autoStart: false },
  })

const decisions = (action: "grant" | "withdraw", purposes: ReadonlyArray<(typeof THREE)[number]>) =>
  purposes.map((purpose) => ({ purpose, action, noticeVersion: 1 }))

const time = async (work: () => Promise<unknown>) => {
  const start = performance.now()
  await work()
  return (performance.now() - start) / 1000
}

const engineName = (engine: Engine) => (engine === "sqlite" ? "SQLite file" : "PostgreSQL")

/**
 * A withdrawal of three granted purposes in one command vs a record of one grant to a new
 * subject, both through `kit.record`, commands per second in the same run.
 */
export const withdrawScenario = async (engine: Engine, runs: number): Promise<Figure> => {
  const database = await openBenchDatabase(engine)
  const kit = kitOn(database)
  const concurrency = engine === "sqlite" ? 1 : 8
  const n = 500
  const ids = Array.from({ length: n }, (_, i) => i)
  const ours: Array<number> = []
  const theirs: Array<number> = []
  try {
    for (let r = 0; r < runs + 1; r++) {
      const tenant = `bench-w-${r}`
      await pool(ids, concurrency, (i) =>
        kit.record({ tenant, subject: `w${i}`, source: "banner", decisions: decisions("grant", THREE) }),
      )
      const withdraw = () =>
        pool(ids, concurrency, (i) =>
          kit.record({ tenant, subject: `w${i}`, source: "banner", decisions: decisions("withdraw", THREE) }),
        )
      const record = () =>
        pool(ids, concurrency, (i) =>
          kit.record({
            tenant,
            subject: `r${i}`,
            source: "banner",
            decisions: decisions("grant", ["analytics"]),
          }),
        )
      const [w, g] =
        r % 2 === 0
          ? [await time(withdraw), await time(record)]
          : [await time(record), await time(withdraw)].reverse()
      if (r === 0) continue
      ours.push(n / w!)
      theirs.push(n / g!)
    }
  } finally {
    await kit.close()
    await database.close()
  }
  const ratio = spread(ours.map((o, i) => o / theirs[i]!))
  return {
    scenario: `withdraw (3 purposes) vs record, ${engineName(engine)}`,
    subject: `kit.record withdrawing 3 granted purposes (${concurrency === 1 ? "one at a time" : `${concurrency} at once`})`,
    baseline: "kit.record of one grant to a new subject",
    unit: "commands/s",
    ours: spread(ours),
    theirs: spread(theirs),
    ratio,
    goal: "≥ 1.0×",
    met: ratio.median >= 1,
    note: "a withdrawal of three purposes writes three events, three state rows and more intents (stop, suppress, changed per purpose) than one grant's two, so it carries about three times the writes and hashing of the command it is compared with.",
  }
}

/**
 * `kit.decide` of a subject the kit has not cached (a fresh kit each run, each subject once) vs
 * a hand-written SELECT of the same state row through the same Kysely instance.
 */
export const coldDecideScenario = async (engine: Engine, runs: number): Promise<Figure> => {
  const database = await openBenchDatabase(engine)
  const seeding = kitOn(database)
  const tenant = "bench-cold"
  const n = 1_000
  const ids = Array.from({ length: n }, (_, i) => i)
  const ours: Array<number> = []
  const theirs: Array<number> = []
  try {
    await pool(ids, engine === "sqlite" ? 1 : 8, (i) =>
      seeding.record({ tenant, subject: `c${i}`, source: "banner", decisions: decisions("grant", THREE) }),
    )
    await seeding.close()
    const db = database.store.db
    for (let r = 0; r < runs + 1; r++) {
      const kit = createConsentKit({
        policy: benchPolicy,
        store: database.store,
        secret: SECRET,
        dispatcher: { autoStart: false },
      })
      let allowed = 0
      const decide = () =>
        pool(ids, 1, async (i) => {
          if ((await kit.decide(tenant, `c${i}`, "analytics")).allowed) allowed++
        })
      const select = () =>
        pool(ids, 1, async (i) => {
          const row = await db
            .selectFrom("state")
            .selectAll()
            .where("tenant", "=", tenant)
            .where("subject", "=", `c${i}`)
            .where("purpose", "=", "analytics")
            .executeTakeFirst()
          if (row?.status === "granted") allowed++
        })
      const [d, s] =
        r % 2 === 0
          ? [await time(decide), await time(select)]
          : [await time(select), await time(decide)].reverse()
      await kit.close()
      if (allowed !== 2 * n) throw new Error(`cold decide allowed ${allowed} of ${2 * n}`)
      if (r === 0) continue
      ours.push(n / d!)
      theirs.push(n / s!)
    }
  } finally {
    await database.close()
  }
  const ratio = spread(ours.map((o, i) => o / theirs[i]!))
  return {
    scenario: `cold decide, ${engineName(engine)}`,
    subject: "kit.decide of an uncached subject (one at a time)",
    baseline: "hand SELECT of the state row",
    unit: "decisions/s",
    ours: spread(ours),
    theirs: spread(theirs),
    ratio,
    goal: "≥ 0.8×",
    met: ratio.median >= 0.8,
    note: "a cold decide reads the subject's whole state (its subject row and every purpose's state row) to fill the cache, then decides from the policy; the hand SELECT reads one row.",
  }
}

/** Bytes the store's tables and indexes hold: SQLite's dbstat payload, PostgreSQL's pg_total_relation_size. */
const storedBytes = async (database: BenchDatabase): Promise<Map<string, number>> => {
  const out = new Map<string, number>()
  if (database.engine === "sqlite") {
    const raw = new Database(database.url.replace(/^sqlite:/, ""), { readonly: true })
    try {
      const rows = raw
        .prepare(
          `select coalesce(m.tbl_name, d.name) as name, sum(d.payload) as bytes
           from dbstat d left join sqlite_schema m on m.name = d.name
           where d.name like ? group by 1`,
        )
        .all(`${database.prefix}%`) as Array<{ name: string; bytes: number }>
      for (const row of rows) out.set(row.name.slice(database.prefix.length), Number(row.bytes))
    } finally {
      raw.close()
    }
    return out
  }
  const result = await sql<{ name: string; bytes: string }>`
    select tablename as name, pg_total_relation_size(quote_ident(tablename)) as bytes from pg_tables
    where schemaname = current_schema() and left(tablename, ${database.prefix.length}) = ${database.prefix}`.execute(
    database.db,
  )
  for (const row of result.rows) out.set(row.name.slice(database.prefix.length), Number(row.bytes))
  return out
}

/** Bytes written per command of three grants to a new subject, across every table (outbox included). */
export const bytesScenario = async (engine: Engine, runs: number): Promise<Figure> => {
  const ours: Array<number> = []
  const outbox: Array<number> = []
  const perTable = new Map<string, Array<number>>()
  const n = 1_000
  for (let r = 0; r < runs; r++) {
    const database = await openBenchDatabase(engine)
    const kit = kitOn(database)
    try {
      // One warm-up command so the first pages of each table exist before the count starts.
      await kit.record({
        tenant: "bench-b",
        subject: "warm",
        source: "banner",
        decisions: decisions("grant", THREE),
      })
      const before = await storedBytes(database)
      await pool(
        Array.from({ length: n }, (_, i) => i),
        engine === "sqlite" ? 1 : 8,
        (i) =>
          kit.record({
            tenant: "bench-b",
            subject: `b${i}`,
            source: "banner",
            decisions: decisions("grant", THREE),
          }),
      )
      const after = await storedBytes(database)
      let total = 0
      for (const [name, bytes] of after) {
        const delta = (bytes - (before.get(name) ?? 0)) / n
        total += delta
        if (delta > 0) perTable.set(name, [...(perTable.get(name) ?? []), delta])
      }
      ours.push(total)
      outbox.push(((after.get("outbox") ?? 0) - (before.get("outbox") ?? 0)) / n)
    } finally {
      await kit.close()
      await database.close()
    }
  }
  const o = spread(ours)
  const breakdown = [...perTable]
    .map(([name, xs]) => [name, spread(xs).median] as const)
    .sort((a, b) => b[1] - a[1])
    .map(([name, bytes]) => `${name} ${Math.round(bytes)}`)
    .join(", ")
  return {
    scenario: `bytes per 3-decision command, ${engineName(engine)}`,
    subject: "kit.record of 3 grants to a new subject",
    baseline: "—",
    unit: "bytes (lower is better)",
    ours: o,
    theirs: null,
    ratio: null,
    goal: "≤ 4 KB",
    met: o.median <= 4096,
    note: `${engine === "sqlite" ? "dbstat payload bytes (rows and index entries, without page slack)" : "pg_total_relation_size deltas (heap, indexes and TOAST, page-granular)"} over ${n} commands; outbox ${Math.round(spread(outbox).median)} B of it; per table and its indexes: ${breakdown}.`,
  }
}
