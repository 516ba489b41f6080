import { createConsentKit } from "@consentkit/core"
import fc from "fast-check"
import { sql } from "kysely"
import { describe, expect, test } from "vitest"
import { silentAdapters } from "./support/applying.js"
import { pool } from "./support/async.js"
import { DIALECTS, PG_URL, withDatabase } from "./support/db.js"
import { policy, SECRET, uniqueTenant } from "./support/policy.js"
import { serve } from "./support/server.js"
import { createHandler } from "@consentkit/http"

// The full 10,000 on SQLite; PostgreSQL gets 2,000 more (another seed): the bodies never reach the
// store, so the second engine only re-checks that nothing was written, and the suite stays fast.
const BODIES: Record<string, number> = { sqlite: 10_000, postgres: 2_000 }
const SEEDS: Record<string, number> = { sqlite: 7_007, postgres: 8_008 }
const PURPOSE_IDS: ReadonlyArray<string> = policy.purposeIds

/** Text that is not JSON and not blank (a blank erase body is a valid request). */
const notJson = fc
  .oneof(
    fc.string({ maxLength: 60 }).map((s) => `{${s}`),
    fc.string({ maxLength: 60 }).map((s) => `${s}}{`),
    fc.constantFrom(
      "{",
      "[",
      "nul",
      "{'purpose':1}",
      '{"decisions":}',
      "\u0000",
      "<xml/>",
      "decisions=1&source=x",
    ),
  )
  .filter((text) => {
    if (text.trim() === "") return false
    try {
      JSON.parse(text)
      return false
    } catch {
      return true
    }
  })

/** JSON that is not an object. */
const notObject = fc
  .oneof(
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ maxLength: 20 }),
    fc.boolean(),
    fc.constant(null),
  )
  .map((v) => JSON.stringify(v))

const unknownPurpose = fc.string({ minLength: 1, maxLength: 20 }).filter((p) => !PURPOSE_IDS.includes(p))
const anyPurpose = fc.constantFrom(...PURPOSE_IDS)

/** A decision that is wrong in one way the handler must refuse. */
const badDecision = fc.oneof(
  fc.record({ purpose: unknownPurpose, action: fc.constant("grant"), noticeVersion: fc.constant(1) }),
  fc.record({
    purpose: anyPurpose,
    action: fc.string().filter((a) => !["grant", "deny", "withdraw"].includes(a)),
  }),
  fc.record({ purpose: anyPurpose, action: fc.constant("grant") }), // a grant must name its notice version
  fc.record({
    purpose: anyPurpose,
    action: fc.constantFrom("grant", "deny", "withdraw"),
    noticeVersion: fc.oneof(fc.constantFrom(0, -1, 1.5, 99, "1", null), fc.integer({ min: 2 })),
  }),
  fc.record({ purpose: anyPurpose, action: fc.constant("deny"), extra: fc.jsonValue() }),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 })),
)

/** One field of a record body set to a value it must be refused for. */
const breakRecord: fc.Arbitrary<(body: Record<string, unknown>) => void> = fc.oneof(
  fc.constant((body: Record<string, unknown>) => {
    delete body.decisions
  }),
  fc
    .oneof(
      fc.constant([]),
      fc.string(),
      fc.integer(),
      fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 2 }),
      fc.array(badDecision, { minLength: 1, maxLength: 3 }),
      fc.constant(Array.from({ length: 101 }, () => ({ purpose: "analytics", action: "deny" }))),
      anyPurpose.map((purpose) => [
        { purpose, action: "deny" },
        { purpose, action: "withdraw" },
      ]),
    )
    .map((decisions) => (body: Record<string, unknown>) => {
      body.decisions = decisions
    }),
  fc
    .oneof(fc.constantFrom("", "gpc", "link", 7, null, true), fc.string({ minLength: 65, maxLength: 80 }))
    .map((source) => (body: Record<string, unknown>) => {
      body.source = source
    }),
  fc
    .oneof(
      fc.constantFrom(
        true,
        -5,
        1.5,
        0,
        "yesterday",
        "2024-13-45",
        "2999-01-01T00:00:00Z",
        "1999-12-31",
        null,
      ),
      fc.dictionary(fc.string(), fc.integer(), { maxKeys: 1 }),
    )
    .map((occurredAt) => (body: Record<string, unknown>) => {
      body.occurredAt = occurredAt
    }),
  fc
    .oneof(
      fc.constantFrom("x", 5, null, [], { metadata: "not an object" }, { locale: 5 }, { unknown: 1 }),
      fc.constant({ metadata: { note: "x".repeat(9_000) } }),
    )
    .map((evidence) => (body: Record<string, unknown>) => {
      body.evidence = evidence
    }),
  fc.constantFrom("th", "THA", 5, "", "T H").map((jurisdiction) => (body: Record<string, unknown>) => {
    body.jurisdiction = jurisdiction
  }),
  fc.constantFrom(-1, 151, 1.5, "10", null).map((age) => (body: Record<string, unknown>) => {
    body.age = age
  }),
  fc
    .oneof(fc.constantFrom("", 5, null, {}), fc.string({ minLength: 201, maxLength: 210 }))
    .map((key) => (body: Record<string, unknown>) => {
      body.idempotencyKey = key
    }),
  // Fields only the server sets.
  fc
    .tuple(fc.constantFrom("tenant", "subject", "actor"), fc.jsonValue({ maxDepth: 1 }))
    .map(([field, value]) => (body: Record<string, unknown>) => {
      body[field] = value
    }),
  fc
    .tuple(
      fc
        .string({ minLength: 1, maxLength: 12 })
        .filter(
          (k) =>
            ![
              "tenant",
              "subject",
              "decisions",
              "source",
              "occurredAt",
              "actor",
              "evidence",
              "jurisdiction",
              "age",
              "idempotencyKey",
              "__proto__",
            ].includes(k),
        ),
      fc.jsonValue({ maxDepth: 1 }),
    )
    .map(([field, value]) => (body: Record<string, unknown>) => {
      body[field] = value
    }),
)

/** A record body broken one to three ways (each alone is enough to refuse it). */
const recordBody = fc
  .tuple(
    fc.constantFrom(...PURPOSE_IDS),
    fc.constantFrom("grant", "deny", "withdraw"),
    fc.array(breakRecord, { minLength: 1, maxLength: 3 }),
  )
  .map(([purpose, action, breaks]) => {
    const body: Record<string, unknown> = {
      source: "banner",
      decisions: [{ purpose, action, noticeVersion: 1 }],
    }
    for (const b of breaks) b(body)
    return JSON.stringify(body)
  })

const eventBody = fc
  .oneof(
    fc.record({ purpose: unknownPurpose, name: fc.constant("viewed") }),
    fc.record({
      purpose: anyPurpose,
      name: fc.oneof(fc.constant(""), fc.string({ minLength: 129, maxLength: 140 }), fc.integer()),
    }),
    fc.record({
      purpose: anyPurpose,
      name: fc.constant("viewed"),
      properties: fc.oneof(fc.string(), fc.array(fc.integer()), fc.constant(null)),
    }),
    fc.record({ purpose: anyPurpose, name: fc.constant("viewed"), page: fc.jsonValue({ maxDepth: 1 }) }),
    fc.record({ name: fc.constant("viewed") }),
  )
  .map((b) => JSON.stringify(b))

const eraseBody = fc.oneof(
  fc
    .oneof(
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(""),
      fc.string({ minLength: 201, maxLength: 220 }),
      fc.array(fc.string(), { maxLength: 2 }),
    )
    .map((requestedBy) => JSON.stringify({ requestedBy })),
)

/** One malformed request: a route, its raw body, and whether a customer is logged in. */
const customer = fc.option(fc.stringMatching(/^c-[a-z0-9]{1,12}$/), { nil: undefined })
const request = fc.oneof(
  {
    weight: 14,
    arbitrary: fc.record({
      route: fc.constant("record" as const),
      body: fc.oneof({ weight: 8, arbitrary: recordBody }, notJson, notObject),
      customer,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      route: fc.constant("events" as const),
      body: fc.oneof(eventBody, notJson, notObject),
      customer,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      route: fc.constant("erase" as const),
      body: fc.oneof(eraseBody, notJson, notObject),
      customer,
    }),
  },
)

/** A body larger than the handler reads (64 KiB). */
const oversized = JSON.stringify({
  source: "banner",
  decisions: [],
  evidence: { metadata: { blob: "x".repeat(70_000) } },
})

for (const { name, enabled } of DIALECTS) {
  describe.runIf(enabled)(`malformed HTTP bodies (${name})`, () => {
    test(`${BODIES[name]!.toLocaleString("en-US")} generated malformed bodies: each a 4xx with a readable error, zero rows written`, () =>
      withDatabase(name, async (database) => {
        const tenant = uniqueTenant("http")
        const kit = createConsentKit({
          policy,
          store: database.store,
          secret: SECRET,
          adapters: silentAdapters(),
          dispatcher: { autoStart: false },
        })
        let collected = 0
        const options = {
          tenant,
          identify: (r: Request) => r.headers.get("x-customer"),
          authorizeOperator: () => true,
          collect: async () => {
            collected++
          },
          cookie: { secure: false },
        }
        // Every framework adapter hands the same Web Request to this one handler; all the bodies go
        // to it directly, and every twentieth also over real HTTP through the node:http bridge.
        const handler = createHandler(kit, options)
        const server = await serve(kit, options)
        try {
          const requests = fc.sample(request, { seed: SEEDS[name]!, numRuns: BODIES[name]! })
          requests.push({ route: "record", body: oversized, customer: undefined })
          const wrong: Array<string> = []
          const statuses = new Map<number, number>()
          const check = async (label: string, route: string, body: string, response: Response) => {
            const text = await response.text()
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
            let error: { code?: unknown; message?: unknown } | undefined
            try {
              error = JSON.parse(text).error
            } catch {
              error = undefined
            }
            const readable =
              typeof error?.code === "string" &&
              /^[A-Z_]+$/.test(error.code) &&
              typeof error.message === "string" &&
              error.message.length >= 10
            if (response.status < 400 || response.status > 499 || !readable) {
              wrong.push(`${label} ${response.status} ${route} ${body.slice(0, 200)} → ${text.slice(0, 200)}`)
            }
            return response.status
          }
          await pool(requests, 8, async ({ route, body, customer }, i) => {
            const path = route === "erase" ? `/consent/subjects/s-${i}/erase` : `/consent/${route}`
            const init = {
              method: "POST",
              headers: {
                "content-type": "application/json",
                ...(customer ? { "x-customer": customer } : {}),
              },
              body,
            }
            const direct = await check(
              "handler",
              route,
              body,
              await handler(new Request(`http://shop.test${path}`, init)),
            )
            if (i % 20 === 0) {
              const overHttp = await check("http", route, body, await fetch(`${server.url}${path}`, init))
              if (overHttp !== direct)
                wrong.push(`http answered ${overHttp}, the handler ${direct}: ${body.slice(0, 200)}`)
            }
          })
          expect(wrong).toEqual([])
          expect([...statuses.keys()].sort()).toEqual([400, 413])
          expect(collected).toBe(0)
          const written: Record<string, number> = {}
          for (const table of await database.tables()) {
            if (table.includes("migration")) continue
            const rows = await sql<{ n: unknown }>`select count(*) as n from ${sql.table(table)}`.execute(
              database.db,
            )
            written[table] = Number(rows.rows[0]!.n)
          }
          expect(
            Object.values(written).every((n) => n === 0),
            JSON.stringify(written),
          ).toBe(true)
          expect(Object.keys(written)).toHaveLength(13)
        } finally {
          await server.close()
          await kit.close()
        }
      }))
  })
}

describe.runIf(PG_URL !== undefined)("sustained load over HTTP (postgres)", () => {
  test("eight clients recording for five seconds: every acknowledged write is in the ledger, no errors", () =>
    withDatabase("postgres", async (database) => {
      const tenant = uniqueTenant("load")
      const kit = createConsentKit({
        policy,
        store: database.store,
        secret: SECRET,
        adapters: silentAdapters(),
        dispatcher: { autoStart: false },
      })
      const server = await serve(kit, {
        tenant,
        identify: (r) => r.headers.get("x-customer"),
        cookie: { secure: false },
      })
      const CLIENTS = 8
      const SUBJECTS_PER_CLIENT = 10
      const MAX_REQUESTS = 600
      const until = Date.now() + 5_000
      const acknowledged: Array<{ commandId: string; subject: string; action: string; key: string }> = []
      const failures: Array<string> = []
      try {
        await Promise.all(
          Array.from({ length: CLIENTS }, async (_, c) => {
            for (let k = 0; Date.now() < until && k < MAX_REQUESTS / CLIENTS; k++) {
              const subject = `c${c}-s${k % SUBJECTS_PER_CLIENT}`
              const action = k % (2 * SUBJECTS_PER_CLIENT) < SUBJECTS_PER_CLIENT ? "grant" : "withdraw"
              const key = `${c}-${k}`
              try {
                const response = await fetch(`${server.url}/consent/record`, {
                  method: "POST",
                  headers: { "content-type": "application/json", "x-customer": subject },
                  body: JSON.stringify({
                    source: "preference-center",
                    idempotencyKey: key,
                    decisions: [
                      { purpose: "marketing", action, noticeVersion: 1 },
                      { purpose: "marketing.email", action, noticeVersion: 1 },
                    ],
                  }),
                })
                const body = (await response.json()) as { commandId?: string; duplicate?: boolean }
                if (response.status !== 201 || !body.commandId)
                  failures.push(`${response.status} ${JSON.stringify(body)}`)
                else acknowledged.push({ commandId: body.commandId, subject, action, key })
              } catch (error) {
                failures.push(String(error))
              }
            }
          }),
        )
        expect(failures).toEqual([])
        expect(acknowledged.length).toBeGreaterThan(CLIENTS)

        // Every acknowledged command is in the ledger with both its events, and nothing else is.
        const events = await sql<{ command_id: string; n: unknown }>`
          select command_id, count(*) as n from ${database.table("event")} where tenant = ${tenant} group by command_id`.execute(
          database.db,
        )
        const inLedger = new Map(events.rows.map((r) => [r.command_id, Number(r.n)]))
        expect(acknowledged.filter((a) => inLedger.get(a.commandId) !== 2)).toEqual([])
        expect(inLedger.size).toBe(acknowledged.length)
        // Each subject's chain verifies and ends where its client's last acknowledged write left it.
        const last = new Map<string, string>()
        for (const a of acknowledged) last.set(a.subject, a.action)
        for (const [subject, action] of last) {
          expect((await kit.verify(tenant, subject)).ok).toBe(true)
          expect((await kit.decide(tenant, subject, "marketing.email")).allowed).toBe(action === "grant")
        }
      } finally {
        await server.close()
        await kit.close()
      }
    }))
})
