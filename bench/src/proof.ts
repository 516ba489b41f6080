import { type ConsentStore, createConsentKit } from "@consentkit/core"
import { benchPolicy } from "./policy.js"
import { type Figure, spread } from "./stats.js"
import { type Engine, openBenchDatabase, pool } from "./stores.js"

const command = (tenant: string, i: number) => ({
  tenant,
  subject: `s${i}`,
  source: "banner",
  decisions: [{ purpose: "analytics" as const, action: "grant" as const, noticeVersion: 1 }],
})

/** The same store with its proof log switched off: the baseline for what the log costs. */
const withoutLog = (store: ConsentStore.ConsentStoreShape): ConsentStore.ConsentStoreShape => ({
  ...store,
  withSubject: (tenant, subject, body) =>
    store.withSubject(tenant, subject, (tx) => body({ ...tx, log: undefined })),
})

const time = async (work: () => Promise<unknown>) => {
  const start = performance.now()
  await work()
  return (performance.now() - start) / 1000
}

/**
 * `record` with the per-tenant Merkle log (an entry, O(log n) node hashes, the tenant's log-head
 * row locked and rewritten in every transaction) against the same store with the log switched
 * off, all records in one tenant (the log's worst case: one sequencer).
 */
export const proofLogScenario = async (engine: Engine, runs: number): Promise<Figure> => {
  const database = await openBenchDatabase(engine)
  const options = {
    policy: benchPolicy,
    secret: "bench-0123456789abcdef0123456789abcdef",
    dispatcher: { autoStart: false },
  }
  const withLog = createConsentKit({ ...options, store: database.store })
  const noLog = createConsentKit({ ...options, store: withoutLog(database.store) })
  const concurrency = engine === "sqlite" ? 1 : 8
  const n = 1_000
  const ids = Array.from({ length: n }, (_, i) => i)
  const samples = { ours: [] as Array<number>, theirs: [] as Array<number> }
  try {
    for (let r = 0; r < runs + 1; r++) {
      const ours = () => pool(ids, concurrency, (i) => withLog.record(command(`proof-${r}-log`, i)))
      const theirs = () => pool(ids, concurrency, (i) => noLog.record(command(`proof-${r}-plain`, i)))
      const [a, b] =
        r % 2 === 0
          ? [await time(ours), await time(theirs)]
          : [await time(theirs), await time(ours)].reverse()
      if (r === 0) continue
      samples.ours.push(n / a!)
      samples.theirs.push(n / b!)
    }
  } finally {
    await withLog.close()
    await noLog.close()
    await database.close()
  }
  const ratio = spread(samples.ours.map((o, i) => o / samples.theirs[i]!))
  return {
    scenario: `record with the proof log, ${engine === "sqlite" ? "SQLite file" : "PostgreSQL"}`,
    subject: `kit.record, log on (${concurrency === 1 ? "one at a time" : `${concurrency} at once`}, one tenant)`,
    baseline: "kit.record, same store, log off",
    unit: "records/s",
    ours: spread(samples.ours),
    theirs: spread(samples.theirs),
    ratio,
    goal: "≥ 0.8 of log off",
    met: ratio.median >= 0.8,
    ...(ratio.median < 0.8
      ? {
          note: `The log costs ${((1 - ratio.median) * 100).toFixed(0)}%: every record also writes its entry, the nodes it completes and the tenant's log head, and on PostgreSQL the head row lock serialises one tenant's writers.`,
        }
      : {}),
  }
}
