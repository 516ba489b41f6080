import { type Client, createConsentKit } from "@consentkit/core"
import { sql } from "kysely"
import { describe, expect, test } from "vitest"
import { DIALECTS, type TestDatabase, withDatabase } from "./support/db.js"
import { decisions, type Purpose, policy, SECRET, uniqueTenant } from "./support/policy.js"
import { dropGuards } from "./support/proof.js"

/** Four events on one subject's chain, recorded one command at a time (seq 1..4). */
const chainOf = async (kit: Client<Purpose>, database: TestDatabase, tenant: string, subject: string) => {
  await kit.record(decisions(tenant, subject, "grant", ["analytics"]))
  await kit.record(decisions(tenant, subject, "grant", ["marketing"], { evidence: { banner: "v7" } }))
  await kit.record(decisions(tenant, subject, "withdraw", ["analytics"]))
  await kit.record(decisions(tenant, subject, "grant", ["marketing.email"]))
  const rows = await sql<{ id: string; seq: number; row_id: number | string }>`
    select id, seq, row_id from ${database.table("event")} where tenant = ${tenant} and subject = ${subject} order by row_id`.execute(
    database.db,
  )
  expect(rows.rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4])
  return rows.rows.map((r) => ({ id: r.id, rowId: Number(r.row_id) }))
}

for (const { name, enabled } of DIALECTS) {
  describe.runIf(enabled)(`tampering with the stored ledger (${name})`, () => {
    test("verify names the kind of tampering and the exact event", () =>
      withDatabase(name, async (database) => {
        const { db, table } = database
        const tenant = uniqueTenant("tamper")
        const kit = createConsentKit({
          policy,
          store: database.store,
          secret: SECRET,
          dispatcher: { autoStart: false },
        })
        const event = table("event")
        try {
          const subjects = ["control", "action", "evidence", "deleted", "newest", "swapped", "seq"] as const
          const chains = Object.fromEntries(
            await Promise.all(
              subjects.map(async (s) => [s, await chainOf(kit, database, tenant, s)] as const),
            ),
          ) as Record<(typeof subjects)[number], Array<{ id: string; rowId: number }>>
          for (const s of subjects) expect((await kit.verify(tenant, s)).ok).toBe(true)
          // The guard triggers refuse these edits; a writer rewriting history drops them first.
          expect(await dropGuards(database)).toBeGreaterThan(0)

          // A changed field: the withdrawal rewritten as a grant.
          await sql`update ${event} set action = 'grant' where id = ${chains.action[2]!.id}`.execute(db)
          // A changed personal field (inside the salted digest): the evidence rewritten.
          await sql`update ${event} set evidence = ${JSON.stringify({ metadata: { banner: "v8" } })} where id = ${chains.evidence[1]!.id}`.execute(
            db,
          )
          // A deleted row in the middle, and the newest row deleted.
          await sql`delete from ${event} where id = ${chains.deleted[1]!.id}`.execute(db)
          await sql`delete from ${event} where id = ${chains.newest[3]!.id}`.execute(db)
          // Swapped order: the second and third rows trade places.
          const [, second, third] = chains.swapped
          await sql`update ${event} set row_id = ${-second!.rowId} where id = ${second!.id}`.execute(db)
          await sql`update ${event} set row_id = ${second!.rowId} where id = ${third!.id}`.execute(db)
          await sql`update ${event} set row_id = ${third!.rowId} where id = ${second!.id}`.execute(db)
          // Swapped seq numbers of the second and third rows.
          await sql`update ${event} set seq = 3 where id = ${chains.seq[1]!.id}`.execute(db)
          await sql`update ${event} set seq = 2 where id = ${chains.seq[2]!.id}`.execute(db)

          const problem = async (subject: string) => {
            const verification = await kit.verify(tenant, subject)
            expect(verification.ok).toBe(false)
            const { kind, eventId } = (verification as { problem: { kind: string; eventId: string } }).problem
            return { kind, eventId }
          }
          expect((await kit.verify(tenant, "control")).ok).toBe(true)
          expect(await problem("action")).toEqual({ kind: "changed", eventId: chains.action[2]!.id })
          expect(await problem("evidence")).toEqual({ kind: "changed", eventId: chains.evidence[1]!.id })
          // A gap shows at the event after it.
          expect(await problem("deleted")).toEqual({ kind: "removed", eventId: chains.deleted[2]!.id })
          // The newest event is missing against the head the state recorded: the chain now ends at seq 3.
          expect(await problem("newest")).toEqual({ kind: "removed", eventId: chains.newest[2]!.id })
          expect(await problem("swapped")).toEqual({ kind: "reordered", eventId: third!.id })
          // The store reads a chain in insertion order, so swapped seq numbers are changed contents
          // of the first swapped event; a store reading by seq would see the pair out of order.
          expect([
            { kind: "changed", eventId: chains.seq[1]!.id },
            { kind: "reordered", eventId: chains.seq[2]!.id },
          ]).toContainEqual(await problem("seq"))
        } finally {
          await kit.close()
        }
      }))
  })
}
