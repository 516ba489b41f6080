import { createConsentKit } from "@consentkit/core"
import fc from "fast-check"
import { sql } from "kysely"
import { describe, expect, test } from "vitest"
import { silentAdapters } from "./support/applying.js"
import { DIALECTS, withDatabase } from "./support/db.js"
import { policy, SECRET, uniqueTenant } from "./support/policy.js"

const TENANTS = 3
const SUBJECTS = 4
const ALIASES = 3
const PURPOSES = ["analytics", "marketing"] as const
type Status = "granted" | "denied" | "withdrawn"
const STATUS = { grant: "granted", deny: "denied", withdraw: "withdrawn" } as const

/** One write, in tenant `t`; every tenant uses the same subject ids and aliases, so leaks would collide. */
const Op = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("record" as const),
      t: fc.nat(TENANTS - 1),
      s: fc.nat(SUBJECTS - 1),
      purpose: fc.constantFrom(...PURPOSES),
      action: fc.constantFrom("grant" as const, "deny" as const, "withdraw" as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("link" as const),
      t: fc.nat(TENANTS - 1),
      s: fc.nat(SUBJECTS - 1),
      alias: fc.nat(ALIASES - 1),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("erase" as const),
      t: fc.nat(TENANTS - 1),
      s: fc.nat(SUBJECTS - 1),
    }),
  },
)

/** What each tenant should hold, kept by the test alone. */
interface Model {
  readonly status: Map<string, Status>
  readonly events: Map<string, number>
  readonly aliases: Map<string, string>
  deliveries: number
}

for (const { name, enabled } of DIALECTS) {
  describe.runIf(enabled)(`tenant isolation (${name})`, () => {
    test("generated reads and writes across tenants never see another tenant's rows", () =>
      withDatabase(name, async (database) => {
        const kit = createConsentKit({
          policy,
          store: database.store,
          secret: SECRET,
          adapters: silentAdapters(),
          dispatcher: { autoStart: false },
        })
        try {
          await fc.assert(
            fc.asyncProperty(fc.array(Op, { minLength: 4, maxLength: 20 }), async (ops) => {
              const run = uniqueTenant("iso")
              const tenants = Array.from({ length: TENANTS }, (_, t) => `${run}-t${t}`)
              const models: Array<Model> = tenants.map(() => ({
                status: new Map(),
                events: new Map(),
                aliases: new Map(),
                deliveries: 0,
              }))
              for (const op of ops) {
                const tenant = tenants[op.t]!
                const model = models[op.t]!
                const subject = `s${op.s}`
                if (op.kind === "record") {
                  const key = `${subject}/${op.purpose}`
                  const was = model.status.get(key) === "granted"
                  const result = await kit.record({
                    tenant,
                    subject,
                    source: "preference-center",
                    decisions: [{ purpose: op.purpose, action: op.action, noticeVersion: 1 }],
                  })
                  model.status.set(key, STATUS[op.action])
                  model.events.set(subject, (model.events.get(subject) ?? 0) + 1)
                  // The write path decided from this tenant's state alone: a flip here, and only here, stops or resumes.
                  const flips = result.intents.filter((i) => i.kind.startsWith("tracking.")).length
                  expect(flips).toBe(was !== (op.action === "grant") ? 1 : 0)
                  expect(result.intents.every((i) => i.tenant === tenant && i.subject === subject)).toBe(true)
                  model.deliveries += result.intents.length * 2
                } else if (op.kind === "link") {
                  const result = await kit.link({
                    tenant,
                    subject,
                    alias: { kind: "anon", value: `anon-${op.alias}` },
                  })
                  model.aliases.set(`anon-${op.alias}`, subject)
                  model.deliveries += (result?.intents.length ?? 0) * 2
                } else {
                  const receipt = await kit.erase({ tenant, subject })
                  expect(receipt.eventsKept).toBe(model.events.get(subject) ?? 0)
                  for (const p of PURPOSES) model.status.delete(`${subject}/${p}`)
                  model.events.delete(subject)
                  for (const [alias, owner] of model.aliases)
                    if (owner === subject) model.aliases.delete(alias)
                  model.deliveries += receipt.adapters.length
                }
              }

              for (let t = 0; t < TENANTS; t++) {
                const tenant = tenants[t]!
                const model = models[t]!
                for (let s = 0; s < SUBJECTS; s++) {
                  const subject = `s${s}`
                  const state = await kit.state(tenant, subject)
                  const statuses = Object.fromEntries(
                    [...(state?.purposes.values() ?? [])].map((p) => [p.purpose, p.status]),
                  )
                  const expected = Object.fromEntries(
                    PURPOSES.flatMap((p) => {
                      const status = model.status.get(`${subject}/${p}`)
                      return status ? [[p, status]] : []
                    }),
                  )
                  expect(statuses).toEqual(expected)
                  const history = await kit.history(tenant, subject)
                  expect(history).toHaveLength(model.events.get(subject) ?? 0)
                  expect(history.every((e) => e.tenant === tenant && e.subject === subject)).toBe(true)
                  for (const p of PURPOSES) {
                    expect((await kit.decide(tenant, subject, p)).allowed).toBe(
                      model.status.get(`${subject}/${p}`) === "granted",
                    )
                  }
                  const exported = await kit.export(tenant, subject)
                  expect(exported.events.every((e) => e.tenant === tenant)).toBe(true)
                  expect(exported.aliases.map((a) => a.value).sort()).toEqual(
                    [...model.aliases]
                      .filter(([, owner]) => owner === subject)
                      .map(([alias]) => alias)
                      .sort(),
                  )
                }
                for (let a = 0; a < ALIASES; a++) {
                  expect(await kit.resolveAlias(tenant, { kind: "anon", value: `anon-${a}` })).toBe(
                    model.aliases.get(`anon-${a}`) ?? null,
                  )
                }
                const audience: Array<string> = []
                for await (const subject of kit.audience({ tenant, purpose: "analytics", pageSize: 2 })) {
                  audience.push(subject)
                }
                expect(audience.sort()).toEqual(
                  [...model.status]
                    .filter(([key, status]) => key.endsWith("/analytics") && status === "granted")
                    .map(([key]) => key.split("/")[0]!)
                    .sort(),
                )
                const stats = await kit.outbox.stats(tenant)
                expect(stats.pending + stats.delivered + stats.dead).toBe(model.deliveries)
              }
              // Every outbox row carries the tenant of the intent inside it.
              const rows = await sql<{ tenant: string; intent: string }>`
                select tenant, intent from ${database.table("outbox")} where tenant like ${`${run}-%`}`.execute(
                database.db,
              )
              expect(rows.rows.filter((r) => JSON.parse(r.intent).tenant !== r.tenant)).toEqual([])
            }),
            { numRuns: 8, seed: 20_260_407, endOnFailure: true },
          )
        } finally {
          await kit.close()
        }
      }))
  })
}
