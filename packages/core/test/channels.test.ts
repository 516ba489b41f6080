import { createConsentKit, Ledger, MemoryStore, Policy, Replica, State, Suppressions } from "@consentkit/core"
import { afterAll, describe, expect, it } from "vitest"
import { freshTenant } from "./fixtures.js"

// One purpose on three channels: the shape where a channel-level opt-out matters.
const policy = Policy.define({
  controller: {
    name: "Siam Tea",
    contact: "DPO",
    email: "dpo@siamtea.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://siamtea.example/privacy",
  purposes: {
    marketing: {
      title: { en: "Marketing" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "m1", material: true }],
      channels: ["email", "sms", "line"],
    },
    "marketing.promo": {
      title: { en: "Promotions" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "p1", material: true }],
      channels: ["email", "line"],
    },
  },
})

const kits: Array<{ close: () => Promise<void> }> = []
afterAll(async () => {
  for (const k of kits) await k.close()
})
const newKit = () => {
  const kit = createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "test-secret-0123456789abcdef0123456789abcdef",
    dispatcher: { autoStart: false },
  })
  kits.push(kit)
  return kit
}
const grantAll = (kit: ReturnType<typeof newKit>, tenant: string, subject: string) =>
  kit.record({
    tenant,
    subject,
    source: "form",
    decisions: [
      { purpose: "marketing", action: "grant", noticeVersion: 1 },
      { purpose: "marketing.promo", action: "grant", noticeVersion: 1 },
    ],
  })

describe("channel-level opt-outs", () => {
  it("a LINE opt-out refuses LINE only; email and SMS stay allowed", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    await grantAll(kit, tenant, "c")
    const result = await kit.optOut({ tenant, subject: "c", channel: "line", source: "line-unfollow" })
    expect(result!.events.map((e) => [e.purpose, e.channel, e.action])).toEqual([
      ["marketing", "line", "withdraw"],
      ["marketing.promo", "line", "withdraw"],
    ])
    expect(await kit.gate.send({ tenant, subject: "c", channel: "line" })).toMatchObject({
      allowed: false,
      reason: "channel_withdrawn",
      eventId: result!.events[0]!.id,
    })
    expect((await kit.gate.send({ tenant, subject: "c", channel: "email" })).allowed).toBe(true)
    expect((await kit.gate.send({ tenant, subject: "c", channel: "sms" })).allowed).toBe(true)
    // The purpose itself is still granted (trackers and other channels do not stop).
    expect((await kit.decide(tenant, "c", "marketing")).allowed).toBe(true)
    // The child inherits its parent's LINE opt-out.
    expect(
      (await kit.gate.send({ tenant, subject: "c", channel: "line", purpose: "marketing.promo" })).allowed,
    ).toBe(false)
  })

  it("emits a suppress of that channel alone, and the suppression list refuses only it", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    await grantAll(kit, tenant, "c")
    const result = await kit.optOut({ tenant, subject: "c", channel: "sms", source: "sms" })
    const suppress = result!.intents.filter((i) => i.kind === "messaging.suppress")
    expect(suppress.map((i) => [i.purpose, i.channel, i.channels])).toEqual([["marketing", "sms", ["sms"]]])
    expect(result!.intents.some((i) => i.kind === "tracking.stop")).toBe(false)
    const list = Suppressions.make()
    for (const intent of result!.intents) list.apply(intent)
    expect(list.refusal(tenant, "c", "marketing", "sms")).toBe("channel_withdrawn")
    expect(list.refusal(tenant, "c", "marketing.promo", "sms")).toBe("channel_withdrawn")
    expect(list.refusal(tenant, "c", "marketing", "email")).toBeUndefined()
    expect(list.refusal(tenant, "c", "marketing")).toBeUndefined()
  })

  it("a replica fed by the intents refuses the channel alone", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    const replica = Replica.make(policy)
    for (const intent of (await grantAll(kit, tenant, "c")).intents) replica.apply(intent)
    const out = await kit.optOut({ tenant, subject: "c", channel: "line", source: "line-unfollow" })
    for (const intent of out!.intents) replica.apply(intent)
    expect(replica.send({ tenant, subject: "c", channel: "line" })).toMatchObject({
      allowed: false,
      reason: "channel_withdrawn",
    })
    expect(replica.send({ tenant, subject: "c", channel: "email" }).allowed).toBe(true)
    expect(replica.decide(tenant, "c", "marketing").allowed).toBe(true)
  })

  it("an opt-in (re-follow) reopens the channel, never the purpose itself", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    await grantAll(kit, tenant, "c")
    await kit.optOut({ tenant, subject: "c", channel: "line", source: "line-unfollow" })
    const back = await kit.optIn({ tenant, subject: "c", channel: "line", source: "line-follow" })
    expect(back!.events.map((e) => [e.purpose, e.channel, e.action])).toEqual([
      ["marketing", "line", "grant"],
      ["marketing.promo", "line", "grant"],
    ])
    expect(back!.intents.filter((i) => i.kind === "messaging.resume").map((i) => i.channel)).toEqual([
      "line",
      "line",
    ])
    expect((await kit.gate.send({ tenant, subject: "c", channel: "line" })).allowed).toBe(true)
    // Nothing to reopen: an opt-in for a subject who never opted out writes nothing.
    const none = await kit.optIn({ tenant, subject: "d", channel: "line", source: "line-follow" })
    expect(none!.events).toEqual([])
    expect((await kit.gate.send({ tenant, subject: "d", channel: "line" })).allowed).toBe(false)
  })

  it("a grant of the purpose again keeps a channel closed alone; a channel grant reopens it", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    await grantAll(kit, tenant, "c")
    await kit.optOut({ tenant, subject: "c", channel: "line", source: "line-unfollow" })
    await kit.record({
      tenant,
      subject: "c",
      source: "banner",
      decisions: [{ purpose: "marketing", action: "withdraw" }],
    })
    const regrant = await kit.record({
      tenant,
      subject: "c",
      source: "banner",
      decisions: [{ purpose: "marketing", action: "grant", noticeVersion: 1 }],
    })
    const messaging = regrant.intents.filter((i) => i.kind.startsWith("messaging."))
    expect(messaging.map((i) => [i.kind, i.purpose, i.channels])).toContainEqual([
      "messaging.resume",
      "marketing",
      ["email", "sms"],
    ])
    expect(messaging.map((i) => [i.kind, i.purpose, i.channel])).toContainEqual([
      "messaging.suppress",
      "marketing",
      "line",
    ])
    expect((await kit.gate.send({ tenant, subject: "c", channel: "line" })).allowed).toBe(false)
    expect((await kit.gate.send({ tenant, subject: "c", channel: "email" })).allowed).toBe(true)
    // The preference center records a channel grant.
    await kit.record({
      tenant,
      subject: "c",
      source: "preference-center",
      decisions: [{ purpose: "marketing", channel: "line", action: "grant", noticeVersion: 1 }],
    })
    expect(
      (await kit.gate.send({ tenant, subject: "c", channel: "line", purpose: "marketing" })).allowed,
    ).toBe(true)
  })

  it("audiences per channel leave out who opted out there", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    await grantAll(kit, tenant, "a")
    await grantAll(kit, tenant, "b")
    await kit.optOut({ tenant, subject: "b", channel: "line", source: "line-unfollow" })
    const collect = async (channel?: string) => {
      const out: Array<string> = []
      for await (const s of kit.audience({
        tenant,
        purpose: "marketing",
        ...(channel ? { channel } : {}),
      }))
        out.push(s)
      return out.sort()
    }
    expect(await collect("line")).toEqual(["a"])
    expect(await collect("email")).toEqual(["a", "b"])
    expect(await collect()).toEqual(["a", "b"])
  })

  it("refuses at definition a channel name that cannot key a channel-level standing", () => {
    const define = (channel: string, id = "marketing") =>
      Policy.define({
        controller: policy.controller,
        policyUrl: policy.policyUrl,
        purposes: {
          [id]: {
            title: { en: "M" },
            versions: [{ version: 1, effectiveAt: "2025-01-01", textHash: "m", material: true }],
            channels: [channel],
          },
        },
      })
    expect(() => define("line")).not.toThrow()
    expect(() => define("WhatsApp")).not.toThrow()
    for (const bad of ["li#ne", ""]) expect(() => define(bad), bad).toThrow(Policy.PolicyDefinitionError)
    expect(() => define("email", `m${"a".repeat(122)}`)).toThrow(/at most 128 characters/)
  })

  it("refuses a channel the purpose does not govern, writing nothing", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    await expect(
      kit.record({
        tenant,
        subject: "c",
        source: "form",
        decisions: [{ purpose: "marketing.promo", channel: "sms", action: "grant", noticeVersion: 1 }],
      }),
    ).rejects.toMatchObject({ code: "UNKNOWN_CHANNEL" })
    expect(await kit.history(tenant, "c")).toEqual([])
  })

  it("records the channel on the event, in its hash; older events without one still verify", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    await grantAll(kit, tenant, "c")
    await kit.optOut({ tenant, subject: "c", channel: "email", source: "unsubscribe-link" })
    expect(await kit.verify(tenant, "c")).toMatchObject({ ok: true, count: 4 })
    const events = await kit.history(tenant, "c")
    const tampered = events.map((e) => (e.channel === "email" ? { ...e, channel: "sms" } : e))
    expect(await Ledger.verifyPromise(tampered)).toMatchObject({ ok: false, problem: { kind: "changed" } })
    // The fold keeps the channel's standing beside the purpose's own.
    const state = State.fold(tenant, "c", events)
    expect(state.purposes.get("marketing")!.status).toBe("granted")
    expect(state.purposes.get(State.keyOf("marketing", "email"))).toMatchObject({
      purpose: "marketing",
      channel: "email",
      status: "withdrawn",
    })
    expect(State.fromJson(State.toJson(state)).purposes.get("marketing#email")!.channel).toBe("email")
  })
})
