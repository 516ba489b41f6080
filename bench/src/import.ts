/**
 * Bulk import of 100,000 legacy consents (20,000 customers, five decisions each) into a SQLite
 * file, through core's `importConsents` (one commit per batch of 2,000 rows), against a baseline
 * measured in the same run: the same decisions recorded as one `kit.record` command per customer
 * inside `store.batch` of 400 customers, i.e. the same writes without the importer's row handling.
 * This was the 100k-row test of the storage unit suite.
 */
import { createConsentKit, ConsentKit, type Import, importConsents } from "@consentkit/core"
import { Effect } from "effect"
import { benchPolicy, PURPOSES } from "./policy.js"
import { type Figure, spread } from "./stats.js"
import { openBenchDatabase } from "./stores.js"

const CUSTOMERS = 20_000
const ROWS = CUSTOMERS * PURPOSES.length
const BATCH = 2_000

const at = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * 60_000)

function* rows(tenant: string): Generator<Import.ImportRow> {
  for (let i = 0; i < CUSTOMERS; i++)
    for (const purpose of PURPOSES)
      yield {
        tenant,
        subject: `c${i}`,
        purpose,
        action: "grant",
        noticeVersion: 1,
        occurredAt: at(i),
        source: "legacy",
      }
}

const command = (tenant: string, i: number) => ({
  tenant,
  subject: `c${i}`,
  source: "legacy",
  occurredAt: at(i),
  decisions: PURPOSES.map((purpose) => ({ purpose, action: "grant" as const, noticeVersion: 1 })),
  idempotencyKey: `k${i}`,
})

const time = async (work: () => Promise<unknown>): Promise<number> => {
  const started = performance.now()
  await work()
  return (performance.now() - started) / 1_000
}

/** `runs` measured rounds (after one warm-up round of each). */
export const importScenario = async (runs: number): Promise<Figure> => {
  const ours: Array<number> = []
  const theirs: Array<number> = []
  for (let r = 0; r <= runs; r++) {
    const database = await openBenchDatabase("sqlite")
    const kit = createConsentKit({
      policy: benchPolicy,
      store: database.store,
      secret: "bench-0123456789abcdef0123456789abcdef",
      dispatcher: { autoStart: false },
    })
    try {
      const runtime = await kit.runtime.runPromise(ConsentKit.ConsentKit.use(Effect.succeed))
      const imported = () =>
        importConsents(runtime, rows(`import-${r}`), { batchSize: BATCH }).then((summary) => {
          if (summary.imported !== ROWS) throw new Error(`imported ${summary.imported} of ${ROWS}`)
        })
      const recorded = async () => {
        const per = BATCH / PURPOSES.length
        for (let start = 0; start < CUSTOMERS; start += per) {
          const commands = Array.from({ length: per }, (_, k) => command(`record-${r}`, start + k))
          await kit.runtime.runPromise(
            database.store.batch(
              Effect.forEach(commands, (c) => runtime.record(c), { concurrency: 16, discard: true }),
            ),
          )
        }
      }
      const oursFirst = r % 2 === 0
      const [a, b] = oursFirst
        ? [await time(imported), await time(recorded)]
        : [await time(recorded), await time(imported)].reverse()
      if (r === 0) continue
      ours.push(ROWS / a!)
      theirs.push(ROWS / b!)
    } finally {
      await kit.close()
      await database.close()
    }
  }
  const ratio = spread(ours.map((o, i) => o / theirs[i]!))
  return {
    scenario: "import 100,000 rows, SQLite file",
    subject: `importConsents (batches of ${BATCH})`,
    baseline: "kit.record per customer in store.batch",
    unit: "rows/s",
    ours: spread(ours),
    theirs: spread(theirs),
    ratio,
    goal: "reported",
    met: null,
  }
}
