import { AdapterError, type Client, createConsentKit, type Intent, Tracker } from "@consentkit/core"
import { describe, expect, test } from "vitest"
import { pool, until } from "./support/async.js"
import { DIALECTS, withDatabase } from "./support/db.js"
import { decisions, type Purpose, policy, SECRET, uniqueTenant } from "./support/policy.js"

const SUBJECTS = 40
const MAX_ATTEMPTS = 4

/** A provider that fails each intent's first `downFor` attempts (or until `up()`), and applies each intent once by its id. */
const flakyProvider = (downFor: number) => {
  const applied = new Map<string, number>()
  const attempts = new Map<string, number>()
  let down = true
  const apply = async (intent: Intent.Intent) => {
    const attempt = (attempts.get(intent.id) ?? 0) + 1
    attempts.set(intent.id, attempt)
    if (down && attempt <= downFor)
      throw new AdapterError({ adapter: "flaky", message: "503 from the provider", isRetryable: true })
    applied.set(intent.id, (applied.get(intent.id) ?? 0) + 1)
  }
  return {
    adapter: Tracker.make({ name: "flaky", stop: apply, resume: apply, erase: apply }),
    applied,
    attempts,
    up: () => {
      down = false
    },
  }
}

/** Delivers until nothing is pending, waiting out backoff; false if rows are still pending after `limitMs`. */
const deliverAll = (kit: Client<Purpose>, tenant: string, limitMs = 30_000) =>
  until(
    async () => {
      await kit.dispatchPending()
      return (await kit.outbox.stats(tenant)).pending === 0
    },
    limitMs,
    10,
  )

for (const { name, enabled } of DIALECTS) {
  describe.runIf(enabled)(`an adapter down, then back (${name})`, () => {
    const setup = (store: Parameters<typeof createConsentKit>[0]["store"], downFor: number) => {
      const provider = flakyProvider(downFor)
      const kit = createConsentKit({
        policy,
        store,
        secret: SECRET,
        trackers: [provider.adapter],
        // Millisecond backoff: the test exercises the retry path, not the clock.
        dispatcher: { autoStart: false, maxAttempts: MAX_ATTEMPTS, baseDelayMs: 2, maxDelayMs: 10 },
      })
      return { provider, kit }
    }

    const seed = async (kit: Client<Purpose>, tenant: string) => {
      const results = await pool(
        Array.from({ length: SUBJECTS }, (_, i) => i),
        8,
        (i) => kit.record(decisions(tenant, `s${i}`, "grant", ["analytics", "marketing"])),
      )
      return results.flatMap((r) => r.intents.filter((i) => i.kind.startsWith("tracking.")).map((i) => i.id))
    }

    test("down for several retries, then back: every intent delivered once, nothing lost", () =>
      withDatabase(name, async ({ store }) => {
        const tenant = uniqueTenant("outage")
        // Down for every attempt but the last one allowed.
        const { provider, kit } = setup(store, MAX_ATTEMPTS - 1)
        try {
          const ids = await seed(kit, tenant)
          expect(ids).toHaveLength(SUBJECTS * 2)
          expect(await deliverAll(kit, tenant)).toBe(true)
          const stats = await kit.outbox.stats(tenant)
          expect({ pending: stats.pending, dead: stats.dead, delivered: stats.delivered }).toEqual({
            pending: 0,
            dead: 0,
            delivered: ids.length,
          })
          expect(ids.filter((id) => provider.applied.get(id) !== 1)).toEqual([])
          expect(ids.filter((id) => provider.attempts.get(id) !== MAX_ATTEMPTS)).toEqual([])
        } finally {
          await kit.close()
        }
      }))

    test("past the maximum attempts a delivery is a dead letter, and replay delivers it", () =>
      withDatabase(name, async ({ store }) => {
        const tenant = uniqueTenant("dead")
        const { provider, kit } = setup(store, Number.POSITIVE_INFINITY)
        try {
          const ids = await seed(kit, tenant)
          expect(await deliverAll(kit, tenant)).toBe(true)
          const dead = await kit.outbox.deadLetters({ tenant, limit: 1_000 })
          expect(dead.map((d) => d.intent.id).sort()).toEqual([...ids].sort())
          expect(dead.every((d) => d.attempts === MAX_ATTEMPTS && d.lastError?.includes("503"))).toBe(true)
          expect(provider.applied.size).toBe(0)

          provider.up()
          expect(await kit.outbox.replay(dead.map((d) => d.id))).toBe(ids.length)
          expect(await deliverAll(kit, tenant)).toBe(true)
          const stats = await kit.outbox.stats(tenant)
          expect({ pending: stats.pending, dead: stats.dead, delivered: stats.delivered }).toEqual({
            pending: 0,
            dead: 0,
            delivered: ids.length,
          })
          expect(ids.filter((id) => provider.applied.get(id) !== 1)).toEqual([])
          expect(await kit.outbox.deadLetters({ tenant, limit: 10 })).toEqual([])
        } finally {
          await kit.close()
        }
      }))
  })
}
