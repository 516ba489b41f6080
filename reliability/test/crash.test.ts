import { createConsentKit } from "@consentkit/core"
import { sql } from "kysely"
import { describe, expect, test } from "vitest"
import { applyingAdapters, createApplyTables } from "./support/applying.js"
import { pool, seeded, sleep, until } from "./support/async.js"
import { startChild } from "./support/child.js"
import { count, DIALECTS, withDatabase } from "./support/db.js"
import { decisions, policy, SECRET, uniqueTenant } from "./support/policy.js"

// 200 subjects × 5 intents × 2 adapters: 2,000 deliveries.
const SUBJECTS = 200
const KILLS = 10

for (const { name, enabled } of DIALECTS) {
  describe.runIf(enabled)(`dispatcher killed with SIGKILL (${name})`, () => {
    test("every intent reaches every adapter and is applied once across repeated kill -9 and restart", () =>
      withDatabase(name, async (database) => {
        const { db, prefix, table } = database
        await createApplyTables(db, prefix)
        const tenant = uniqueTenant("crash")
        // This kit only records (and finally drains); the children deliver.
        const kit = createConsentKit({
          policy,
          store: database.store,
          secret: SECRET,
          adapters: applyingAdapters(db, prefix),
          dispatcher: {
            autoStart: false,
            maxAttempts: 1_000,
            batchSize: 256,
            concurrency: 16,
          },
        })
        try {
          await pool(
            Array.from({ length: SUBJECTS }, (_, i) => i),
            8,
            (i) =>
              kit.record(
                decisions(tenant, `s${i}`, "grant", [
                  "analytics",
                  "marketing",
                  "marketing.email",
                  "marketing.sms",
                ]),
              ),
          )
          const enqueued = await count(
            sql<{
              n: unknown
            }>`select count(*) as n from ${table("outbox")} where tenant = ${tenant}`.execute(db),
          )
          expect(enqueued).toBe(SUBJECTS * 5 * 2)

          const applied = () =>
            count(sql<{ n: unknown }>`select count(*) as n from ${table("applied")}`.execute(db))
          const random = seeded(7)
          let kills = 0
          while (kills < KILLS) {
            const child = await startChild("dispatcher.ts", [database.url, prefix])
            try {
              await child.waitFor("ready")
              // Kill only once this child is delivering, at a random point of its batches.
              const before = await applied()
              await until(async () => (await applied()) > before, 10_000, 10)
              await sleep(20 + random() * 250)
            } finally {
              await child.kill9()
            }
            kills++
          }
          const appliedByChildren = await applied()

          // Restart one last time in this process: rows leased by the dead children come back after the lease.
          const drained = await until(
            async () => {
              await kit.dispatchPending()
              return (await kit.outbox.stats(tenant)).pending === 0
            },
            60_000,
            100,
          )
          expect(drained).toBe(true)

          const missing = await count(
            sql<{
              n: unknown
            }>`select count(*) as n from ${table("outbox")} o where o.tenant = ${tenant} and not exists (select 1 from ${table("applied")} a where a.intent_id = o.intent_id and a.adapter = o.adapter)`.execute(
              db,
            ),
          )
          const repeated = await count(
            sql<{
              n: unknown
            }>`select count(*) as n from (select intent_id, adapter from ${table("attempt")} group by intent_id, adapter having count(*) > 1) r`.execute(
              db,
            ),
          )
          const stats = await kit.outbox.stats(tenant)
          expect({
            kills,
            missing,
            applied: await applied(),
            pending: stats.pending,
            dead: stats.dead,
          }).toEqual({
            kills: KILLS,
            missing: 0,
            applied: enqueued,
            pending: 0,
            dead: 0,
          })
          expect(stats.delivered).toBe(enqueued)
          // The kills landed mid-batch: some deliveries were attempted again, and still applied once.
          expect(repeated).toBeGreaterThan(0)
          expect(appliedByChildren).toBeGreaterThan(0)
        } finally {
          await kit.close()
        }
      }))
  })
}
