import { Adapter, ConsentKit, createConsentKit, Intent } from "@consentkit/core"
import type { KyselyConsentStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { benchPolicy } from "./policy.js"
import { countPgStatements, handWritten, rawPostgres, rawSqlite } from "./raw.js"
import { type Figure, spread } from "./stats.js"
import { type Engine, openBenchDatabase, pool } from "./stores.js"

/** One adapter that takes every intent, so each record enqueues its deliveries as an app's would. */
const sink = Adapter.fromHandlers({
  name: "sink",
  role: "tracker",
  handlers: Object.fromEntries(Intent.KINDS.map((k) => [k, async () => undefined])),
})

/** Grant analytics to a new subject: one event, one state row, two intents (resume, changed), one command. */
const command = (tenant: string, i: number) => ({
  tenant,
  subject: `s${i}`,
  source: "banner",
  decisions: [{ purpose: "analytics" as const, action: "grant" as const, noticeVersion: 1 }],
  idempotencyKey: `k${i}`,
})

const time = async (work: () => Promise<unknown>) => {
  const start = performance.now()
  await work()
  return (performance.now() - start) / 1000
}

/** Runs the measurements in a rotating order (so none always goes first), each timed. */
const timedInTurn = async (round: number, works: ReadonlyArray<() => Promise<unknown>>) => {
  const out: Array<number> = new Array(works.length)
  for (let k = 0; k < works.length; k++) {
    const at = (k + round) % works.length
    out[at] = await time(works[at]!)
  }
  return out
}

/** Statements each way of recording sends per record on PostgreSQL, counted at the `pg` driver, one record at a time. */
const statementsPerRecord = async (
  kit: { record: (c: ReturnType<typeof command>) => Promise<unknown> },
  store: KyselyConsentStore,
  raw: ReturnType<typeof rawPostgres>,
  tag: string,
) => {
  const n = 50
  const ids = Array.from({ length: n }, (_, i) => i)
  const ours = await countPgStatements(() =>
    pool(ids, 1, (i) => kit.record(command(`bench-count-${tag}-ours`, i))),
  )
  const hand = await countPgStatements(() =>
    pool(ids, 1, (i) =>
      store.db.transaction().execute((trx) => handWritten(trx, `bench-count-${tag}-hand`, i, true)),
    ),
  )
  const limit = await countPgStatements(() => pool(ids, 1, (i) => raw.record(`bench-count-${tag}-raw`, i)))
  return { ours: ours.statements / n, hand: hand.statements / n, raw: limit.statements / n }
}

/** A fixed value as a spread (a count does not vary between runs). */
const exactly = (x: number) => ({ min: x, median: x, max: x })

/**
 * `record` per engine vs a hand-written Kysely transaction doing the same writes, one record per
 * transaction, with a raw-driver line beside it (prepared better-sqlite3 statements; one `pg`
 * query); the batched record path (`store.batch`, one commit per 1,000 records on SQLite) vs the
 * same writes in one hand-written transaction; on PostgreSQL also 8 writers vs 1 and the
 * statements per record counted at the driver.
 */
export const recordScenario = async (engine: Engine, runs: number): Promise<ReadonlyArray<Figure>> => {
  const database = await openBenchDatabase(engine)
  const { store } = database
  const kit = createConsentKit({
    policy: benchPolicy,
    store,
    secret: "bench-0123456789abcdef0123456789abcdef",
    adapters: [sink],
    dispatcher: { autoStart: false },
  })
  const runtime = await kit.runtime.runPromise(ConsentKit.ConsentKit.use(Effect.succeed))
  // SQLite has one writer; PostgreSQL serves several app requests at once.
  const concurrency = engine === "sqlite" ? 1 : 8
  const raw = engine === "sqlite" ? rawSqlite(database) : rawPostgres(database, concurrency)
  const n = 1_000
  const batch = 1_000
  const single = { ours: [] as Array<number>, theirs: [] as Array<number>, raw: [] as Array<number> }
  const oneWriter: Array<number> = []
  const batched = { ours: [] as Array<number>, theirs: [] as Array<number> }
  const ids = Array.from({ length: n }, (_, i) => i)
  let counted: { ours: number; hand: number; raw: number } | null = null
  let closed = false
  try {
    for (let r = 0; r < runs + 1; r++) {
      const tenants = ["a", "b", "c", "d", "e", "f"].map((t) => `bench-${r}-${t}`)
      const works: Array<() => Promise<unknown>> = [
        () => pool(ids, concurrency, (i) => kit.record(command(tenants[0]!, i))),
        () =>
          pool(ids, concurrency, (i) =>
            store.db.transaction().execute((trx) => handWritten(trx, tenants[1]!, i, engine === "postgres")),
          ),
        () => pool(ids, concurrency, (i) => raw.record(tenants[4]!, i)),
      ]
      if (engine === "postgres") works.push(() => pool(ids, 1, (i) => kit.record(command(tenants[5]!, i))))
      const [s1, s2, s3, s4] = await timedInTurn(r, works)
      const commands = Array.from({ length: batch }, (_, i) => command(tenants[2]!, i))
      const [b1, b2] = await timedInTurn(r, [
        () =>
          kit.runtime.runPromise(
            store.batch(
              Effect.forEach(commands, (c) => runtime.record(c), { concurrency: 16, discard: true }),
            ),
          ),
        () =>
          store.db.transaction().execute(async (trx) => {
            for (let i = 0; i < batch; i++) await handWritten(trx, tenants[3]!, i, engine === "postgres")
          }),
      ])
      // The first round warms statement caches and the JIT; it is not reported.
      if (r === 0) continue
      single.ours.push(n / s1!)
      single.theirs.push(n / s2!)
      single.raw.push(n / s3!)
      if (s4 !== undefined) oneWriter.push(n / s4)
      batched.ours.push(batch / b1!)
      batched.theirs.push(batch / b2!)
    }
    if (engine === "postgres") {
      // Counted on a kit of its own that does not follow the change feed, with the measured kit
      // closed: every query the process sends is counted, and a feed's poll is not the record's.
      await kit.close()
      closed = true
      const counting = createConsentKit({
        policy: benchPolicy,
        store,
        secret: "bench-0123456789abcdef0123456789abcdef",
        adapters: [sink],
        dispatcher: { autoStart: false },
        feed: false,
      })
      try {
        counted = await statementsPerRecord(
          counting,
          store,
          raw as ReturnType<typeof rawPostgres>,
          database.prefix,
        )
      } finally {
        await counting.close()
      }
    }
  } finally {
    await raw.close()
    if (!closed) await kit.close()
    await database.close()
  }
  const figure = (
    label: string,
    subject: string,
    baseline: string,
    samples: { ours: Array<number>; theirs: Array<number>; raw?: Array<number> },
    /** Why the ratio is what it is, said when the goal is missed. */
    why: string,
  ): Figure => {
    const ratio = spread(samples.ours.map((o, i) => o / samples.theirs[i]!))
    const missed =
      ratio.median < 0.9
        ? `The median ratio ${ratio.median.toFixed(3)} misses the 0.9 goal by ${(0.9 - ratio.median).toFixed(3)} (${((1 - ratio.median / 0.9) * 100).toFixed(1)}% short). ${why}`
        : undefined
    const limit = samples.raw
    return {
      scenario: label,
      subject,
      baseline,
      unit: "records/s",
      ours: spread(samples.ours),
      theirs: spread(samples.theirs),
      ratio,
      goal: "≥ 0.9 of hand-written",
      met: ratio.median >= 0.9,
      ...(missed ? { note: missed } : {}),
      ...(limit
        ? {
            limit: {
              label: engine === "sqlite" ? "prepared better-sqlite3" : "one pg query",
              value: spread(limit),
              ratio: spread(samples.ours.map((o, i) => o / limit[i]!)),
            },
          }
        : {}),
    }
  }
  const name = engine === "sqlite" ? "SQLite file" : "PostgreSQL"
  const work =
    "reads the idempotency key and the state, seals the hash chain, diffs decisions into intents and builds a receipt"
  const figures: Array<Figure> = [
    figure(
      `record, ${name}`,
      `kit.record (${concurrency === 1 ? "one at a time" : `${concurrency} at once`})`,
      "hand-written Kysely transaction, same writes",
      single,
      engine === "postgres"
        ? `A record sends ${counted ? counted.ours.toFixed(1) : "2"} statements (counted at the driver: one read, then commit_v1 doing every write as its own transaction) where the hand-written transaction sends ${counted ? counted.hand.toFixed(1) : "13"}, so it holds no transaction open across its CPU and the tenant's log-head lock only for the commit statement.`
        : `The gap is CPU inside the single writer's transaction: record ${work} while it holds SQLite's one write connection.`,
    ),
    figure(
      `record batched, ${name}`,
      `store.batch of ${batch} kit.record`,
      `hand-written, ${batch} records in one transaction`,
      batched,
      engine === "postgres"
        ? "store.batch folds transactions on SQLite only: on PostgreSQL each record keeps its own transaction and row lock, so this compares 1,000 transactions (16 at once) with one transaction of 5,002 statements."
        : `One commit serves the whole batch, so what remains is the CPU of each record: it ${work}, where the hand-written batch only sends the writes.`,
    ),
  ]
  if (engine === "postgres" && counted) {
    figures.push({
      scenario: "statements per record, PostgreSQL",
      subject: "kit.record, counted at the pg driver",
      baseline: "hand-written Kysely transaction",
      unit: "statements (lower is better)",
      ours: exactly(counted.ours),
      theirs: exactly(counted.hand),
      ratio: exactly(counted.ours / counted.hand),
      goal: "≤ 2 statements",
      met: counted.ours <= 2,
      limit: {
        label: "one pg query",
        value: exactly(counted.raw),
        ratio: exactly(counted.ours / counted.raw),
      },
      note: `counted over 50 records of new subjects with idempotency keys, one at a time, by wrapping pg's Client#query (every BEGIN, lock, read, write, pg_notify and COMMIT is one round trip), on a kit that does not follow the change feed (its poll is not the record's): one statement reads the subject, its state, the key's command and its data key; one calls commit_v1 (migration 0007), which checks the subject is unchanged and writes the events, state, outbox, command, data key, proof-log entries, nodes and head and the feed entry, with its NOTIFY, as one transaction.`,
    })
    const scaling = spread(single.ours.map((o, i) => o / oneWriter[i]!))
    figures.push({
      scenario: "record, PostgreSQL, 8 writers vs 1",
      subject: "kit.record, 8 at once",
      baseline: "kit.record, one at a time",
      unit: "records/s",
      ours: spread(single.ours),
      theirs: spread(oneWriter),
      ratio: scaling,
      goal: "≥ 3×",
      met: scaling.median >= 3,
      note: "both on the same pool of 10 connections, 1,000 records of new subjects of one tenant each. The tenant's proof-log head lock is now held only for the commit statement, so it no longer serialises the writers; what bounds 8 writers is the one JavaScript thread that does every record's validation, sealing, intents, receipt and JSON (on 2 cores shared with PostgreSQL): one writer leaves it idle for its two round trips, 8 writers keep it busy.",
    })
  }
  return figures
}
