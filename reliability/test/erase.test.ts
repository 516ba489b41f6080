import { randomBytes } from "node:crypto"
import { Adapter, createConsentKit, Intent } from "@consentkit/core"
import { lineMessenger } from "@consentkit/adapter-line"
import { localLine } from "@consentkit/adapter-line/testing"
import { posthog as posthogAdapter } from "@consentkit/adapter-posthog"
import { sql } from "kysely"
import { PostHog } from "posthog-node"
import { describe, expect, test } from "vitest"
import { until } from "./support/async.js"
import { DIALECTS, withDatabase } from "./support/db.js"
import { policy, SECRET, uniqueTenant } from "./support/policy.js"
import { localPostHog } from "./support/posthog.js"

const TOKEN = "line-channel-token"

/** A customer as the host app knows them: every identifier erasure must remove. */
const customer = (label: string) => {
  const tag = randomBytes(4).toString("hex")
  return {
    subject: `cust-${label}-${tag}`,
    email: `${label}.${tag}@example.co.th`,
    phone: `+6681${Number.parseInt(tag, 16).toString().padStart(7, "0").slice(0, 7)}`,
    line: `U${randomBytes(16).toString("hex")}`,
    anonymous: `anon-${label}-${tag}`,
  }
}

/** The identifiers of `who` that occur in `text`. */
const traces = (text: string, who: ReturnType<typeof customer>) =>
  Object.entries(who)
    .filter(([, value]) => text.toLowerCase().includes(value.toLowerCase()))
    .map(([kind]) => kind)

for (const { name, enabled } of DIALECTS) {
  describe.runIf(enabled)(`erasure leaves no trace (${name})`, () => {
    test("after erase, no table and no local provider holds the subject's identifiers, email or phone", () =>
      withDatabase(name, async (database) => {
        const tenant = uniqueTenant("erase")
        const mali = { ...customer("mali"), email: "mali.s@example.co.th", phone: "+66812345678" }
        const somchai = customer("somchai")
        const people = [mali, somchai]

        const posthogServer = await localPostHog({ projectToken: "phc_rel", personalApiKey: "phx_rel" })
        const lineServer = await localLine({ channelAccessToken: TOKEN })
        // The host app's own directory of addresses, which the messenger's erase asks it to forget.
        const directory = new Map(
          people.map((p) => [`${tenant}/${p.subject}`, { line: p.line, email: p.email }]),
        )
        const client = new PostHog("phc_rel", {
          host: posthogServer.url,
          flushAt: 100,
          flushInterval: 60_000,
          fetchRetryCount: 0,
        })
        const posthogDescriptor = posthogAdapter({
          client,
          deletion: { projectId: 1, personalApiKey: "phx_rel", apiHost: posthogServer.url },
        })
        const line = lineMessenger({
          channelAccessToken: TOKEN,
          baseURL: lineServer.url,
          recipients: {
            resolve: (t, subject) => directory.get(`${t}/${subject}`)?.line ?? null,
            forget: ({ tenant: t, subject }) => {
              directory.delete(`${t}/${subject}`)
            },
          },
        })
        // The brand's own customer-data store: keeps every intent it receives, deletes on erase.
        const cdp = new Map<string, Array<Intent.Intent>>()
        const cdpAdapter = Adapter.fromHandlers({
          name: "cdp",
          role: "cdp",
          handlers: Object.fromEntries(
            Intent.KINDS.map((kind) => [
              kind,
              async (intent: Intent.Intent) => {
                if (kind === "subject.erase") cdp.delete(intent.subject)
                else cdp.set(intent.subject, [...(cdp.get(intent.subject) ?? []), intent])
              },
            ]),
          ),
        })
        const kit = createConsentKit({
          policy,
          store: database.store,
          secret: SECRET,
          trackers: [posthogDescriptor],
          messengers: [line],
          adapters: [cdpAdapter],
          dispatcher: { autoStart: false },
        })
        const posthog = kit.adapter(posthogDescriptor)
        try {
          for (const p of people) {
            await kit.record({
              tenant,
              subject: p.subject,
              source: "signup-form",
              actor: { kind: "operator", id: `agent-for-${p.email}` },
              evidence: {
                userAgent: "Mozilla/5.0",
                metadata: { email: p.email, phone: p.phone, note: `signed up as ${p.email}` },
              },
              idempotencyKey: `signup:${p.email}`,
              decisions: [
                { purpose: "analytics", action: "grant", noticeVersion: 1 },
                { purpose: "marketing", action: "grant", noticeVersion: 1 },
                { purpose: "marketing.line", action: "grant", noticeVersion: 1 },
              ],
            })
            for (const [kind, value] of [
              ["email", p.email],
              ["phone", p.phone],
              ["line", p.line],
              ["anonymous", p.anonymous],
            ] as const) {
              await kit.link({ tenant, subject: p.subject, alias: { kind, value } })
            }
            await posthog.capture({
              tenant,
              subject: p.subject,
              event: "viewed_tea",
              properties: { email: p.email },
            })
            await posthog.capture({
              tenant,
              subject: p.subject,
              distinctId: p.anonymous,
              event: "opened_app",
              properties: { phone: p.phone },
            })
            // A withdrawal puts the LINE user into the provider's exclusion audience.
            await kit.record({
              tenant,
              subject: p.subject,
              source: "preference-center",
              decisions: [{ purpose: "marketing.line", action: "withdraw" }],
            })
          }
          await posthog.flush()
          await kit.dispatchPending()
          // The providers hold both customers' data before the erasure, so the scan below can find it.
          const providerData = () =>
            JSON.stringify({
              posthog: posthogServer.events,
              line: [...lineServer.audiences.values()].map((a) => ({ ...a, userIds: [...a.userIds] })),
              directory: [...directory],
              cdp: [...cdp],
            })
          expect(traces(providerData(), mali)).toEqual(
            expect.arrayContaining(["subject", "email", "phone", "line"]),
          )

          const receipt = await kit.erase({ tenant, subject: mali.subject, requestedBy: "dpo-ticket-118" })
          const complete = await until(
            async () => {
              await kit.dispatchPending()
              return (await kit.erasureStatus(tenant, receipt.erasureId)).complete
            },
            30_000,
            20,
          )
          expect(complete).toBe(true)
          expect([...receipt.adapters].sort()).toEqual(["cdp", "line", "posthog"])

          // Every column of every table, as text.
          const found: Array<string> = []
          for (const table of await database.tables()) {
            const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(
              database.db,
            )
            for (const row of rows.rows) {
              const kinds = traces(JSON.stringify(row), mali)
              if (kinds.length > 0) found.push(`${table}: ${kinds.join(", ")} in ${JSON.stringify(row)}`)
            }
          }
          expect(found).toEqual([])
          expect(traces(providerData(), mali)).toEqual([])
          expect(posthogServer.unexpected).toEqual([])

          // Only the pseudonymous proof remains, and it still verifies.
          const proof = await kit.runtime.runPromise(database.store.erasedHistory(tenant, receipt.pseudonym))
          expect(proof).toHaveLength(receipt.eventsKept)
          expect(receipt.eventsKept).toBe(4)
          // The other customer's data is untouched everywhere.
          expect(traces(providerData(), somchai)).toEqual(
            expect.arrayContaining(["subject", "email", "phone", "line"]),
          )
          expect(await kit.history(tenant, somchai.subject)).toHaveLength(4)
        } finally {
          await kit.close()
          await client.shutdown()
          await posthogServer.close()
          await lineServer.close()
        }
      }))
  })
}
