import { createConsentKit } from "@consentkit/core"
import { type KyselyConsentStore, openStore } from "@consentkit/storage-kysely"
import { sql } from "kysely"
import { benchPolicy } from "./policy.js"
import { type Figure, percentile, spread } from "./stats.js"
import { openBenchDatabase, PG_URL, pool, seeded } from "./stores.js"

const SUBJECTS = 150
const GAP_MS = 25
const SECRET = "bench-0123456789abcdef0123456789abcdef"
const MYSQL_URL = process.env.CONSENTKIT_MYSQL_URL?.trim() || undefined

/** Two stores over one database: what two app instances hold. */
interface Pair {
  readonly a: KyselyConsentStore
  readonly b: KyselyConsentStore
  readonly close: () => Promise<void>
}

const pairOn = async (engine: "sqlite" | "postgres"): Promise<Pair> => {
  const database = await openBenchDatabase(engine)
  const other = await database.reopen()
  return {
    a: database.store,
    b: other.store,
    close: async () => {
      await other.close()
      await database.close()
    },
  }
}

const mysqlPair = async (): Promise<Pair> => {
  const prefix = `bench_${Math.random().toString(36).slice(2, 8)}_`
  const first = await openStore(MYSQL_URL!, { tablePrefix: prefix })
  const other = await openStore(MYSQL_URL!, { tablePrefix: prefix, migrate: false })
  return {
    a: first.store,
    b: other.store,
    close: async () => {
      await other.close()
      const db = first.database.db
      const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables
        where table_schema = database() and left(table_name, ${prefix.length}) = ${prefix}`.execute(db)
      for (const { name } of tables.rows) await sql`drop table if exists ${sql.table(name)}`.execute(db)
      await first.close()
    },
  }
}

const kitOn = (store: KyselyConsentStore) =>
  createConsentKit({
    policy: benchPolicy,
    store,
    secret: SECRET,
    // Ten minutes: without the feed the other instance would allow for that long.
    cache: { ttlMs: 600_000 },
    dispatcher: { autoStart: false },
  })

/**
 * When each withdrawn subject is first refused on `kit`: a watcher asks `decide` (a cache hit until
 * the feed drops the entry, then a read of the store) for every withdrawn, not yet refused subject
 * about every millisecond.
 */
const watchRefusals = (kit: ReturnType<typeof kitOn>, tenant: string) => {
  const watching = new Set<string>()
  const refusedAt = new Map<string, number>()
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      for (const s of [...watching]) {
        if (!(await kit.decide(tenant, s, "marketing.email")).allowed) {
          refusedAt.set(s, performance.now())
          watching.delete(s)
        }
      }
      await new Promise((r) => setTimeout(r, 1))
    }
  })()
  return {
    refusedAt,
    watch: (s: string) => watching.add(s),
    pending: () => watching.size,
    stop: async () => {
      stopped = true
      await loop
    },
  }
}

/**
 * One run: A records withdrawals of `marketing.email` about every 25 ms; B (its own pool or
 * connection, its cache holding every grant) and A itself each watch for the refusal. Latency runs
 * from A's `record` resolving to the first refusal on each side.
 */
const run = async (pair: Pair, index: number) => {
  const kitA = kitOn(pair.a)
  const kitB = kitOn(pair.b)
  const tenant = `cross-${index}-${Math.random().toString(36).slice(2, 8)}`
  const subjects = Array.from({ length: SUBJECTS }, (_, i) => `s${i}`)
  try {
    await pool(subjects, 8, (s) =>
      kitA.record({
        tenant,
        subject: s,
        source: "banner",
        decisions: [{ purpose: "marketing.email", action: "grant", noticeVersion: 1 }],
      }),
    )
    while (!kitB.feedStatus().up) await new Promise((r) => setTimeout(r, 10))
    for (const s of subjects) {
      await kitA.decide(tenant, s, "marketing.email")
      await kitB.decide(tenant, s, "marketing.email")
    }
    const onA = watchRefusals(kitA, tenant)
    const onB = watchRefusals(kitB, tenant)
    const committed = new Map<string, number>()
    const random = seeded(index + 7)
    const pending: Array<Promise<unknown>> = []
    for (const s of subjects) {
      pending.push(
        kitA
          .record({
            tenant,
            subject: s,
            source: "preference-center",
            decisions: [{ purpose: "marketing.email", action: "withdraw", noticeVersion: 1 }],
          })
          .then(() => {
            committed.set(s, performance.now())
            onA.watch(s)
            onB.watch(s)
          }),
      )
      await new Promise((r) => setTimeout(r, GAP_MS * (0.5 + random())))
    }
    await Promise.all(pending)
    const deadline = Date.now() + 10_000
    while ((onA.pending() > 0 || onB.pending() > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10))
    await onA.stop()
    await onB.stop()
    const latencies = (side: Map<string, number>) =>
      [...committed].map(([s, at]) => {
        const r = side.get(s)
        return r === undefined ? Number.POSITIVE_INFINITY : r - at
      })
    const b = latencies(onB.refusedAt)
    const a = latencies(onA.refusedAt)
    return {
      b: { p50: percentile(b, 50), p99: percentile(b, 99) },
      a: { p50: percentile(a, 50), p99: percentile(a, 99) },
    }
  } finally {
    await kitB.close()
    await kitA.close()
  }
}

/**
 * Cross-instance withdrawal → refusal latency: PostgreSQL NOTIFY, SQLite polling (two connections
 * to one file) and MySQL polling (when `CONSENTKIT_MYSQL_URL` is set), each beside the same
 * withdrawal refused on the instance that recorded it.
 */
export const crossInstanceScenario = async (runs: number): Promise<ReadonlyArray<Figure>> => {
  const engines: Array<{ name: string; goalMs: number; open: () => Promise<Pair> }> = [
    ...(PG_URL ? [{ name: "PostgreSQL NOTIFY", goalMs: 50, open: () => pairOn("postgres") }] : []),
    { name: "SQLite polling (50 ms)", goalMs: 100, open: () => pairOn("sqlite") },
    ...(MYSQL_URL ? [{ name: "MySQL polling (50 ms)", goalMs: 100, open: mysqlPair }] : []),
  ]
  const figures: Array<Figure> = []
  for (const engine of engines) {
    const results: Array<Awaited<ReturnType<typeof run>>> = []
    for (let r = 0; r < runs; r++) {
      const pair = await engine.open()
      try {
        results.push(await run(pair, r))
      } finally {
        await pair.close()
      }
    }
    for (const p of ["p50", "p99"] as const) {
      const ours = spread(results.map((x) => x.b[p]))
      figures.push({
        scenario: `cross-instance withdrawal to refusal, ${p}`,
        subject: `another instance, ${engine.name}`,
        baseline: "the recording instance",
        unit: "ms (lower is better)",
        ours,
        theirs: spread(results.map((x) => x.a[p])),
        ratio: null,
        goal: p === "p99" ? `p99 < ${engine.goalMs} ms` : "reported",
        met: p === "p99" ? ours.median < engine.goalMs : null,
        ...(p === "p50" && engine === engines[0]
          ? {
              note: `latency runs from \`record\` resolving on instance A to instance B's \`decide\` first refusing (B's cache held the grant with a 10-minute TTL, so only the change feed can tell it), over ${SUBJECTS} withdrawals ~${GAP_MS} ms apart per run; a watcher asks B about every millisecond, so figures include up to ~1 ms of watching. The baseline is the same refusal on A (read-your-writes).`,
            }
          : {}),
      })
    }
  }
  return figures
}
