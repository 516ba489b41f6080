import { createConsentKit, Messenger } from "@consentkit/core"
import { describe, expect, test } from "vitest"
import { pool, seeded } from "./support/async.js"
import { DIALECTS, withDatabase } from "./support/db.js"
import { decisions, policy, SECRET, uniqueTenant } from "./support/policy.js"

const SUBJECTS = 1_000
const SENDS = 2

/** Resolves after a macrotask or a few milliseconds, so sends land before, during and after a commit. */
const jitter = (ms: number) =>
  ms < 1 ? new Promise<void>((resolve) => setImmediate(resolve)) : new Promise((r) => setTimeout(r, ms))

for (const { name, enabled } of DIALECTS) {
  describe.runIf(enabled)(`a send racing a withdrawal of its purpose (${name})`, () => {
    test("1,000 concurrent races: zero sends whose gate check started after the withdrawal committed", () =>
      withDatabase(name, async ({ store }) => {
        const tenant = uniqueTenant("race")
        const suppressed = new Set<string>()
        const email = Messenger.make({
          name: "email",
          channels: ["email"],
          suppress: async (intent) => {
            suppressed.add(intent.subject)
          },
          resume: async () => undefined,
        })
        const seeder = createConsentKit({ policy, store, secret: SECRET, dispatcher: { autoStart: false } })
        await pool(
          Array.from({ length: SUBJECTS }, (_, i) => i),
          8,
          (i) => seeder.record(decisions(tenant, `s${i}`, "grant", ["marketing", "marketing.email"])),
        )
        await seeder.close()

        // A fresh kit. Odd subjects start cold: their first gate check reads the store while the
        // withdrawal may be committing, where a stale read could bring the grant back into the
        // cache. Even subjects start warm: their checks race the cache update itself.
        const kit = createConsentKit({
          policy,
          store,
          secret: SECRET,
          messengers: [email],
          dispatcher: { autoStart: false },
        })
        try {
          const random = seeded(42)
          const committedAt = new Array<number>(SUBJECTS)
          const sends: Array<{ subject: number; checkedAt: number; allowed: boolean }> = []
          /** One gated send: the instant its gate check started, and whether it sent. */
          const send = async (subject: number) => {
            const checkedAt = performance.now()
            const decision = await kit.gate.send({
              tenant,
              subject: `s${subject}`,
              channel: "email",
              purpose: "marketing.email",
            })
            sends.push({ subject, checkedAt, allowed: decision.allowed })
          }

          const warm = Array.from({ length: SUBJECTS / 2 }, (_, k) => 2 * k)
          await pool(warm, 16, send)
          expect(sends.filter((s) => s.allowed)).toHaveLength(warm.length)

          await Promise.all(
            Array.from({ length: SUBJECTS }, async (_, i) => {
              const delays = Array.from({ length: SENDS }, () => (random() < 0.3 ? 0 : random() * 15))
              const racing = delays.map(async (ms) => {
                await jitter(ms)
                await send(i)
              })
              await jitter(random() * 5)
              await kit.record(decisions(tenant, `s${i}`, "withdraw", ["marketing.email"]))
              committedAt[i] = performance.now()
              await Promise.all(racing)
              // One more after the commit, which must be refused.
              await send(i)
            }),
          )

          const late = sends.filter((s) => s.allowed && s.checkedAt > committedAt[s.subject]!)
          expect(late).toEqual([])
          expect(sends).toHaveLength(warm.length + SUBJECTS * (SENDS + 1))

          // And the messenger was told to suppress every one of them.
          await kit.dispatchPending()
          expect(suppressed.size).toBe(SUBJECTS)
          const after = await pool(
            Array.from({ length: SUBJECTS }, (_, i) => i),
            16,
            (i) => kit.decide(tenant, `s${i}`, "marketing.email"),
          )
          expect(after.filter((d) => d.allowed)).toEqual([])
        } finally {
          await kit.close()
        }
      }))
  })
}
