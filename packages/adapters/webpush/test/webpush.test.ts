import { type Client, ConsentRequired, createConsentKit, MemoryStore, Policy } from "@consentkit/core"
import webpush from "web-push"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type WebPushMessenger, webPushMessenger } from "../src/index.js"
import { type LocalPushService, localPushService } from "../src/testing.js"

const controller = {
  name: "Siam Tea Co.",
  contact: "DPO",
  email: "dpo@siamtea.example",
  phone: "+66 2 000 0000",
  address: { addressCountry: "TH" },
}
const marketingPush = {
  title: { en: "Push offers", th: "ข้อเสนอทางการแจ้งเตือน" },
  versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "p1", material: true }],
  channels: ["push"],
}
// Push serves marketing alone: once it is withdrawn nothing needs the subscription.
const marketingOnly = Policy.define({
  controller,
  policyUrl: "https://siamtea.example/privacy",
  purposes: { "marketing.push": marketingPush },
})
// Push also carries order updates, which need no consent.
const withOrders = Policy.define({
  controller,
  policyUrl: "https://siamtea.example/privacy",
  purposes: {
    "marketing.push": marketingPush,
    orders: {
      title: { en: "Order updates", th: "สถานะคำสั่งซื้อ" },
      lawfulBasis: "contract",
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "o1", material: false }],
      channels: ["push"],
    },
  },
})
type Purpose = (typeof withOrders.purposeIds)[number]

let tenants = 0
const freshTenant = () => `push-${Date.now().toString(36)}-${tenants++}`

describe("web push against a local HTTPS push service", () => {
  let service: LocalPushService
  const kits: Array<{ close: () => Promise<void> }> = []
  let push: WebPushMessenger
  let kit: Client<"marketing.push">
  let ordersPush: WebPushMessenger
  let ordersKit: Client<Purpose>

  const setup = <P extends string>(policy: Policy.Policy<P>) => {
    const messenger = webPushMessenger({
      vapid: { subject: "mailto:dpo@siamtea.example", ...webpush.generateVAPIDKeys() },
      agent: service.agent,
    })
    const client = createConsentKit({
      policy,
      store: MemoryStore.make(),
      secret: "kit-secret-0123456789abcdef0123456789abcdef",
      messengers: [messenger],
      dispatcher: { autoStart: false, baseDelayMs: 0, maxDelayMs: 0 },
    })
    kits.push(client)
    return [client.adapter(messenger), client] as const
  }

  beforeAll(async () => {
    service = await localPushService()
    ;[push, kit] = setup(marketingOnly)
    ;[ordersPush, ordersKit] = setup(withOrders)
  })
  afterAll(async () => {
    for (const k of kits) await k.close()
    await service?.close()
  })

  const decide = (
    tenant: string,
    subject: string,
    action: "grant" | "withdraw",
    on: Client<"marketing.push"> | Client<Purpose> = kit,
  ) =>
    on.record({
      tenant,
      subject,
      source: "preference-center",
      decisions: [{ purpose: "marketing.push", action, ...(action === "grant" ? { noticeVersion: 1 } : {}) }],
    })
  const offer = (tenant: string, subject: string, text: string) =>
    push.send({ tenant, subject, purpose: "marketing.push", payload: { title: text } })

  it("delivers before a withdrawal, drops the subscription after it and stores it again only once allowed", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-c1`
    const browser = service.subscribe()
    expect(
      (
        await push.subscribe({
          tenant,
          subject,
          subscription: browser.subscription,
          purpose: "marketing.push",
        })
      ).stored,
    ).toBe(false)

    await decide(tenant, subject, "grant")
    await kit.dispatchPending()
    expect(
      (
        await push.subscribe({
          tenant,
          subject,
          subscription: browser.subscription,
          purpose: "marketing.push",
        })
      ).stored,
    ).toBe(true)
    expect(await offer(tenant, subject, "flash-sale")).toMatchObject({ delivered: 1, gone: [] })
    expect(service.received(browser.id)).toEqual([JSON.stringify({ title: "flash-sale" })])
    const arrived = service.requests.filter((r) => r.id === browser.id)
    expect(arrived.map((r) => [r.status, r.headers["content-encoding"]])).toEqual([[201, "aes128gcm"]])

    await decide(tenant, subject, "withdraw")
    await kit.dispatchPending()
    expect(await push.subscriptions.list(tenant, subject)).toEqual([])
    const again = await push.subscribe({
      tenant,
      subject,
      subscription: browser.subscription,
      purpose: "marketing.push",
    })
    expect(again).toMatchObject({ stored: false, decision: { reason: "withdrawn" } })
    const refusal = await offer(tenant, subject, "after").catch((e: unknown) => e)
    expect((refusal as ConsentRequired).decision.reason).toBe("withdrawn")
    expect(service.requests.filter((r) => r.id === browser.id)).toHaveLength(1)
  })

  it("keeps the subscription while another purpose on push needs no consent", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-c2`
    const browser = service.subscribe()
    await decide(tenant, subject, "grant", ordersKit)
    await ordersPush.subscribe({ tenant, subject, subscription: browser.subscription })
    await decide(tenant, subject, "withdraw", ordersKit)
    await ordersKit.dispatchPending()
    expect(await ordersPush.subscriptions.list(tenant, subject)).toHaveLength(1)
    const promo = ordersPush.send({ tenant, subject, purpose: "marketing.push", payload: "promo" })
    await expect(promo).rejects.toBeInstanceOf(ConsentRequired)
    await ordersPush.send({ tenant, subject, purpose: "orders", payload: "order-shipped" })
    expect(service.received(browser.id)).toEqual(["order-shipped"])
  })

  it("drops a subscription the push service answers 410 for, and keeps delivering to the others", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-c3`
    const [phone, laptop] = [service.subscribe(), service.subscribe()]
    await decide(tenant, subject, "grant")
    for (const b of [phone, laptop]) await push.subscribe({ tenant, subject, subscription: b!.subscription })
    service.expire(phone!.id)
    expect(await offer(tenant, subject, "one")).toMatchObject({
      delivered: 1,
      gone: [phone!.subscription.endpoint],
    })
    expect((await push.subscriptions.list(tenant, subject)).map((s) => s.endpoint)).toEqual([
      laptop!.subscription.endpoint,
    ])
    await offer(tenant, subject, "two")
    expect(service.requests.filter((r) => r.id === phone!.id).map((r) => r.status)).toEqual([410])
    expect(service.received(laptop!.id)).toEqual([
      JSON.stringify({ title: "one" }),
      JSON.stringify({ title: "two" }),
    ])
  })

  it("drops every subscription on erasure", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-c4`
    await decide(tenant, subject, "grant")
    for (const b of [service.subscribe(), service.subscribe()])
      await push.subscribe({ tenant, subject, subscription: b.subscription })
    const receipt = await kit.erase({ tenant, subject })
    await kit.dispatchPending()
    expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(true)
    expect(await push.subscriptions.list(tenant, subject)).toEqual([])
  })
})
