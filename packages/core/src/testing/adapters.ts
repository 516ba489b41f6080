import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Adapter } from "../Adapter.js"
import { type Client, createConsentKit } from "../Client.js"
import * as ConsentKit from "../ConsentKit.js"
import type { Registered } from "../Registry.js"
import type { Intent } from "../Intent.js"
import * as MemoryStore from "../MemoryStore.js"
import { type ConformancePurpose, conformancePolicy, uniqueTenant } from "./policy.js"

const kitFor = (adapter: Registered): Client<ConformancePurpose> =>
  createConsentKit({
    policy: conformancePolicy,
    store: MemoryStore.make(),
    secret: "conformance-secret-0123456789abcdef0123456789abcdef",
    adapters: [adapter],
    cache: { ttlMs: 0 },
    dispatcher: { autoStart: false, baseDelayMs: 0, maxDelayMs: 0 },
  })

const grant = (tenant: string, subject: string, purpose: ConformancePurpose) => ({
  tenant,
  subject,
  source: "banner",
  decisions: [{ purpose, action: "grant" as const, noticeVersion: 1 }],
})

const withdraw = (tenant: string, subject: string, purpose: ConformancePurpose) => ({
  tenant,
  subject,
  source: "preference-center",
  decisions: [{ purpose, action: "withdraw" as const }],
})

/** Delivers one intent to the adapter as the kit routes it (a descriptor is built on first use). */
const deliverVia = (kit: Client<ConformancePurpose>, adapter: Registered, intent: Intent): Promise<void> =>
  kit.runtime.runPromise(
    Effect.gen(function* () {
      const routed = (yield* ConsentKit.ConsentKit).adapters.find((a) => a.name === adapter.name)
      if (routed) yield* routed.deliver(intent)
    }),
  )

/** An intent built by hand, to show an adapter applies a redelivery harmlessly. */
const intentFor = (
  adapter: Omit<Adapter, "deliver">,
  tenant: string,
  subject: string,
  kind: Intent["kind"],
  purpose: ConformancePurpose,
): Intent => {
  const def = conformancePolicy.purposes.get(purpose)!
  return {
    id: `redelivered-${kind}-${subject}`,
    tenant,
    subject,
    kind,
    seq: 1,
    createdAt: new Date(),
    purpose,
    reason: "withdrawn",
    categories: adapter.categories.length > 0 ? adapter.categories : def.trackerCategories,
    channels: adapter.channels.length > 0 ? adapter.channels : def.channels,
    changes: [],
    aliases: [],
    erasureId: null,
    pseudonym: null,
    snapshot: null,
  }
}

/** What a tracker integration under test supplies; the provider is a local server that behaves like the real one. */
export interface TrackerHarness {
  readonly setup: () => Promise<{
    /** The adapter, or its descriptor (the kit builds it; `track`/`send` then use `kit.adapter(...)`). */
    readonly adapter: Registered
    /** The purpose its events are collected for (`analytics` or `marketing`). */
    readonly purpose?: "analytics" | "marketing"
    /** Sends one event through the integration's gated client (the real SDK), and flushes it. */
    readonly track: (
      kit: Client<ConformancePurpose>,
      event: { tenant: string; subject: string; name: string },
    ) => Promise<void>
    /** Event names the local provider received for a subject. */
    readonly received: (subject: string) => Promise<ReadonlyArray<string>>
    /** Identifiers the provider was asked to delete. */
    readonly deletions: () => Promise<ReadonlyArray<string>>
    readonly teardown?: () => Promise<void>
  }>
}

/** The tracker contract: collection stops the moment consent is withdrawn, resumes after a new grant, erases on request. */
export const trackerConformance = (name: string, harness: TrackerHarness): void => {
  describe(`tracker conformance: ${name}`, () => {
    let h: Awaited<ReturnType<TrackerHarness["setup"]>>
    let kit: Client<ConformancePurpose>
    let purpose: ConformancePurpose
    beforeAll(async () => {
      h = await harness.setup()
      kit = kitFor(h.adapter)
      purpose = h.purpose ?? "analytics"
    })
    afterAll(async () => {
      await kit?.close()
      await h?.teardown?.()
    })

    it("declares what it handles", () => {
      expect(h.adapter.role).toBe("tracker")
      expect(h.adapter.kinds).toEqual(
        expect.arrayContaining(["tracking.stop", "tracking.resume", "subject.erase"]),
      )
      expect(h.adapter.capabilities.erase).toBe(true)
    })

    it("collects before a withdrawal and nothing after it", async () => {
      const tenant = uniqueTenant()
      const subject = `${tenant}-visitor`
      await kit.record(grant(tenant, subject, purpose))
      await kit.dispatchPending()
      await h.track(kit, { tenant, subject, name: "before" })
      await kit.record(withdraw(tenant, subject, purpose))
      await h.track(kit, { tenant, subject, name: "after-record" })
      await kit.dispatchPending()
      await h.track(kit, { tenant, subject, name: "after-dispatch" })
      expect(await h.received(subject)).toEqual(["before"])
    })

    it("collects nothing from a subject who never consented", async () => {
      const tenant = uniqueTenant()
      const subject = `${tenant}-stranger`
      await h.track(kit, { tenant, subject, name: "unconsented" })
      expect(await h.received(subject)).toEqual([])
    })

    it("resumes only after a new grant", async () => {
      const tenant = uniqueTenant()
      const subject = `${tenant}-returning`
      await kit.record(grant(tenant, subject, purpose))
      await kit.record(withdraw(tenant, subject, purpose))
      await kit.dispatchPending()
      await h.track(kit, { tenant, subject, name: "while-withdrawn" })
      await kit.record(grant(tenant, subject, purpose))
      await kit.dispatchPending()
      await h.track(kit, { tenant, subject, name: "after-regrant" })
      expect(await h.received(subject)).toEqual(["after-regrant"])
    })

    it("asks the provider to delete the subject on erasure", async () => {
      const tenant = uniqueTenant()
      const subject = `${tenant}-leaving`
      await kit.record(grant(tenant, subject, purpose))
      await kit.dispatchPending()
      await h.track(kit, { tenant, subject, name: "tracked" })
      const receipt = await kit.erase({ tenant, subject })
      await kit.dispatchPending()
      expect(await h.deletions()).toContain(subject)
      expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(true)
    })

    it("applies a redelivered intent harmlessly", async () => {
      const tenant = uniqueTenant()
      const subject = `${tenant}-twice`
      const stop = intentFor(h.adapter, tenant, subject, "tracking.stop", purpose)
      await deliverVia(kit, h.adapter, stop)
      await deliverVia(kit, h.adapter, stop)
      await h.track(kit, { tenant, subject, name: "never" })
      expect(await h.received(subject)).toEqual([])
    })
  })
}

/** What a messenger integration under test supplies. */
export interface MessengerHarness {
  readonly setup: () => Promise<{
    /** The adapter, or its descriptor (the kit builds it; `track`/`send` then use `kit.adapter(...)`). */
    readonly adapter: Registered
    readonly channel: "email" | "sms" | "line" | "push"
    /** Gives the provider side what it needs to reach the subject (an address, a subscription, a LINE id). */
    readonly enroll?: (
      kit: Client<ConformancePurpose>,
      subject: { tenant: string; subject: string },
    ) => Promise<void>
    /** Sends one marketing message through the integration's gated client (the real SDK). */
    readonly send: (
      kit: Client<ConformancePurpose>,
      message: { tenant: string; subject: string; purpose: ConformancePurpose; text: string },
    ) => Promise<"sent" | "refused">
    /** Message texts the local provider delivered to a subject. */
    readonly delivered: (subject: string) => Promise<ReadonlyArray<string>>
    /** Whether the provider holds the subject on its suppression list (for adapters that suppress). */
    readonly suppressed?: (subject: string) => Promise<boolean>
    /** Identifiers the provider was asked to delete. */
    readonly deletions: () => Promise<ReadonlyArray<string>>
    readonly teardown?: () => Promise<void>
  }>
}

/** The messenger contract: a channel stops the moment its purpose is withdrawn, every send is checked, erasure reaches the provider. */
export const messengerConformance = (name: string, harness: MessengerHarness): void => {
  describe(`messenger conformance: ${name}`, () => {
    let h: Awaited<ReturnType<MessengerHarness["setup"]>>
    let kit: Client<ConformancePurpose>
    let purpose: ConformancePurpose
    beforeAll(async () => {
      h = await harness.setup()
      kit = kitFor(h.adapter)
      purpose = `marketing.${h.channel}` as ConformancePurpose
    })
    afterAll(async () => {
      await kit?.close()
      await h?.teardown?.()
    })

    const enrolled = async () => {
      const tenant = uniqueTenant()
      const subject = `${tenant}-customer`
      await h.enroll?.(kit, { tenant, subject })
      return { tenant, subject }
    }

    it("declares what it handles", () => {
      expect(h.adapter.role).toBe("messenger")
      expect(h.adapter.kinds).toContain("subject.erase")
      expect(h.adapter.channels).toContain(h.channel)
    })

    it("delivers before a withdrawal and nothing after it", async () => {
      const { tenant, subject } = await enrolled()
      await kit.record(grant(tenant, subject, purpose))
      await kit.dispatchPending()
      expect(await h.send(kit, { tenant, subject, purpose, text: "before" })).toBe("sent")
      await kit.record(withdraw(tenant, subject, purpose))
      expect(await h.send(kit, { tenant, subject, purpose, text: "after-record" })).toBe("refused")
      await kit.dispatchPending()
      expect(await h.send(kit, { tenant, subject, purpose, text: "after-dispatch" })).toBe("refused")
      expect(await h.delivered(subject)).toEqual(["before"])
      if (h.suppressed && h.adapter.capabilities.suppress) expect(await h.suppressed(subject)).toBe(true)
    })

    it("refuses when a parent purpose is withdrawn", async () => {
      const { tenant, subject } = await enrolled()
      await kit.record(grant(tenant, subject, purpose))
      await kit.record(withdraw(tenant, subject, "marketing"))
      await kit.dispatchPending()
      expect(await h.send(kit, { tenant, subject, purpose, text: "parent-withdrawn" })).toBe("refused")
      expect(await h.delivered(subject)).toEqual([])
    })

    it("lifts the suppression after a new grant", async () => {
      const { tenant, subject } = await enrolled()
      await kit.record(grant(tenant, subject, purpose))
      await kit.record(withdraw(tenant, subject, purpose))
      await kit.dispatchPending()
      await kit.record(grant(tenant, subject, purpose))
      await kit.dispatchPending()
      expect(await h.send(kit, { tenant, subject, purpose, text: "welcome-back" })).toBe("sent")
      expect(await h.delivered(subject)).toEqual(["welcome-back"])
      if (h.suppressed && h.adapter.capabilities.suppress) expect(await h.suppressed(subject)).toBe(false)
    })

    it("refuses after an opt-out on its channel, and sends again after an opt-in there", async () => {
      const { tenant, subject } = await enrolled()
      await kit.record(grant(tenant, subject, purpose))
      await kit.dispatchPending()
      const out = await kit.optOut({ tenant, subject, channel: h.channel, source: "conformance-opt-out" })
      expect(out!.events.map((e) => [e.purpose, e.channel])).toEqual([[purpose, h.channel]])
      expect(await h.send(kit, { tenant, subject, purpose, text: "after-opt-out" })).toBe("refused")
      await kit.dispatchPending()
      expect(await h.send(kit, { tenant, subject, purpose, text: "after-dispatch" })).toBe("refused")
      if (h.suppressed && h.adapter.capabilities.suppress) expect(await h.suppressed(subject)).toBe(true)
      await kit.optIn({ tenant, subject, channel: h.channel, source: "conformance-opt-in" })
      await kit.dispatchPending()
      expect(await h.send(kit, { tenant, subject, purpose, text: "opted-in" })).toBe("sent")
      expect(await h.delivered(subject)).toEqual(["opted-in"])
      if (h.suppressed && h.adapter.capabilities.suppress) expect(await h.suppressed(subject)).toBe(false)
    })

    it("keeps sending when the subject opted out of another channel only", async () => {
      const { tenant, subject } = await enrolled()
      await kit.record(grant(tenant, subject, purpose))
      // Every purpose of the other channel is closed there; this purpose and channel are untouched.
      const other = h.channel === "sms" ? "email" : "sms"
      await kit.optOut({ tenant, subject, channel: other, source: "conformance-opt-out" })
      await kit.dispatchPending()
      expect(await h.send(kit, { tenant, subject, purpose, text: "still-open" })).toBe("sent")
      expect(await h.delivered(subject)).toEqual(["still-open"])
      if (h.suppressed && h.adapter.capabilities.suppress) expect(await h.suppressed(subject)).toBe(false)
    })

    it("asks the provider to delete the subject on erasure", async () => {
      const { tenant, subject } = await enrolled()
      await kit.record(grant(tenant, subject, purpose))
      await kit.dispatchPending()
      const receipt = await kit.erase({ tenant, subject })
      await kit.dispatchPending()
      expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(true)
      expect((await h.deletions()).length).toBeGreaterThan(0)
      expect(await h.send(kit, { tenant, subject, purpose, text: "after-erase" })).toBe("refused")
    })

    it("applies a redelivered intent harmlessly", async () => {
      const { tenant, subject } = await enrolled()
      const suppress = intentFor(h.adapter, tenant, subject, "messaging.suppress", purpose)
      await deliverVia(kit, h.adapter, suppress)
      await deliverVia(kit, h.adapter, suppress)
      expect(await h.send(kit, { tenant, subject, purpose, text: "never" })).toBe("refused")
    })
  })
}
