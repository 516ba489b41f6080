import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Adapter } from "../Adapter.js"
import { type Client, createConsentKit } from "../Client.js"
import type { Intent } from "../Intent.js"
import * as MemoryStore from "../MemoryStore.js"
import * as Replica from "../Replica.js"
import { type ConformancePurpose, conformancePolicy, uniqueTenant } from "./policy.js"

/** A subscription to the bus. */
export interface Subscription {
  readonly close: () => Promise<void>
}

/** What an event-bus integration under test supplies, against its real server. */
export interface BusHarness {
  readonly setup: () => Promise<{
    /** The publishing adapter (`EventBus.make`). */
    readonly adapter: Adapter
    /**
     * A durable subscription for a consumer group: every intent published while the group is
     * offline is delivered when it subscribes again; each is acknowledged after `onIntent` resolves.
     */
    readonly subscribe: (options: {
      readonly group: string
      readonly onIntent: (intent: Intent) => Promise<void>
    }) => Promise<Subscription>
    readonly teardown?: () => Promise<void>
  }>
}

/** Waits until `check` passes, polling; fails with the last error after `timeoutMs`. */
export const eventually = async (check: () => void | Promise<void>, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await check()
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}

/** The bus contract: every change reaches every consumer group once, and an offline group catches up. */
export const busConformance = (name: string, harness: BusHarness): void => {
  describe(`bus conformance: ${name}`, () => {
    let h: Awaited<ReturnType<BusHarness["setup"]>>
    let kit: Client<ConformancePurpose>
    const subscriptions: Array<Subscription> = []
    beforeAll(async () => {
      h = await harness.setup()
      kit = createConsentKit({
        policy: conformancePolicy,
        store: MemoryStore.make(),
        secret: "conformance-secret-0123456789abcdef0123456789abcdef",
        buses: [h.adapter],
        dispatcher: { autoStart: false, baseDelayMs: 0, maxDelayMs: 0 },
      })
    })
    afterAll(async () => {
      for (const s of subscriptions) await s.close()
      await kit?.close()
      await h?.teardown?.()
    })

    /** Subscribes a group and collects what arrives for one tenant. */
    const collect = async (group: string, tenant: string) => {
      const got: Array<Intent> = []
      const sub = await h.subscribe({
        group,
        onIntent: async (intent) => {
          if (intent.tenant === tenant) got.push(intent)
        },
      })
      subscriptions.push(sub)
      return { got, sub }
    }

    const grant = (tenant: string, subject: string, purpose: ConformancePurpose) =>
      kit.record({
        tenant,
        subject,
        source: "banner",
        decisions: [{ purpose, action: "grant", noticeVersion: 1 }],
      })
    const withdraw = (tenant: string, subject: string, purpose: ConformancePurpose) =>
      kit.record({
        tenant,
        subject,
        source: "preference-center",
        decisions: [{ purpose, action: "withdraw" }],
      })

    it("declares itself a bus for every kind", () => {
      expect(h.adapter.role).toBe("bus")
      expect(h.adapter.kinds).toEqual(
        expect.arrayContaining(["consent.changed", "subject.erase", "messaging.suppress"]),
      )
    })

    it("carries each consent change, with the new state, to a subscriber", async () => {
      const tenant = uniqueTenant()
      const { got } = await collect(`${tenant}-svc`, tenant)
      await grant(tenant, "s1", "marketing.email")
      await withdraw(tenant, "s1", "marketing.email")
      await kit.dispatchPending()
      await eventually(() => expect(got.filter((i) => i.kind === "consent.changed")).toHaveLength(2))
      const replica = Replica.make(conformancePolicy)
      for (const intent of got) replica.apply(intent)
      expect(replica.decide(tenant, "s1", "marketing.email").reason).toBe("withdrawn")
      expect(got.some((i) => i.kind === "messaging.suppress" && i.channels.includes("email"))).toBe(true)
    })

    it("publishes a redelivered intent once", async () => {
      const tenant = uniqueTenant()
      const { got } = await collect(`${tenant}-dedupe`, tenant)
      const intent: Intent = {
        id: `${tenant}-intent-1`,
        tenant,
        subject: "s1",
        kind: "tracking.stop",
        seq: 1,
        createdAt: new Date(),
        purpose: "analytics",
        reason: "withdrawn",
        categories: ["analytics"],
        channels: [],
        changes: [],
        aliases: [],
        erasureId: null,
        pseudonym: null,
        snapshot: null,
      }
      await Effect.runPromise(h.adapter.deliver(intent))
      await Effect.runPromise(h.adapter.deliver(intent))
      const marker: Intent = { ...intent, id: `${tenant}-marker`, kind: "tracking.resume" }
      await Effect.runPromise(h.adapter.deliver(marker))
      await eventually(() => expect(got.some((i) => i.id === marker.id)).toBe(true))
      expect(got.filter((i) => i.id === intent.id)).toHaveLength(1)
    })

    it("lets a subscriber that was offline catch up on what it missed", async () => {
      const tenant = uniqueTenant()
      const group = `${tenant}-offline`
      const first = await collect(group, tenant)
      await grant(tenant, "s1", "analytics")
      await kit.dispatchPending()
      await eventually(() => expect(first.got).toHaveLength(2))
      await first.sub.close()
      await withdraw(tenant, "s1", "analytics")
      await grant(tenant, "s2", "marketing.sms")
      await kit.dispatchPending()
      const again = await collect(group, tenant)
      await eventually(() =>
        expect(again.got.map((i) => i.kind).sort()).toEqual([
          "consent.changed",
          "consent.changed",
          "messaging.resume",
          "tracking.stop",
        ]),
      )
      const seenBefore = new Set(first.got.map((i) => i.id))
      expect(again.got.filter((i) => seenBefore.has(i.id))).toEqual([])
    })

    it("gives every consumer group its own copy", async () => {
      const tenant = uniqueTenant()
      const a = await collect(`${tenant}-a`, tenant)
      const b = await collect(`${tenant}-b`, tenant)
      await grant(tenant, "s1", "marketing.line")
      await kit.dispatchPending()
      await eventually(() => {
        expect(a.got.map((i) => i.kind).sort()).toEqual(["consent.changed", "messaging.resume"])
        expect(b.got.map((i) => i.kind).sort()).toEqual(["consent.changed", "messaging.resume"])
      })
    })
  })
}
