import { createHash } from "node:crypto"
import { type Client, ConsentRequired, createConsentKit, MemoryStore, Policy } from "@consentkit/core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BroadcastRefused, type LineMessenger, lineMessenger, unfollowWebhook } from "../src/index.js"
import { type LocalLine, localLine } from "../src/testing.js"

const TOKEN = "line-test-channel-access-token"
const SECRET = "line-test-channel-secret"

const policy = Policy.define({
  controller: {
    name: "Siam Tea Co.",
    contact: "DPO",
    email: "dpo@siamtea.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://siamtea.example/privacy",
  purposes: {
    marketing: {
      title: { en: "Marketing", th: "การตลาด" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "m1", material: true }],
    },
    "marketing.line": {
      title: { en: "LINE offers", th: "ข้อเสนอทาง LINE" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "l1", material: true }],
      channels: ["line"],
    },
    notices: {
      title: { en: "Legal notices", th: "ประกาศตามกฎหมาย" },
      lawfulBasis: "legal_obligation",
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "n1", material: false }],
      channels: ["line"],
    },
  },
})

const lineId = (subject: string) => `U${createHash("md5").update(subject).digest("hex")}`
let tenants = 0
const freshTenant = () => `line-${Date.now().toString(36)}-${tenants++}`
const text = (t: string) => [{ type: "text" as const, text: t }]

describe("LINE messenger against a local LINE API", () => {
  let server: LocalLine
  let kit: Client<(typeof policy.purposeIds)[number]>
  let line: LineMessenger

  beforeAll(async () => {
    server = await localLine({ channelAccessToken: TOKEN })
    const messenger = lineMessenger({
      channelAccessToken: TOKEN,
      baseURL: server.url,
      recipients: { resolve: (_tenant, subject) => lineId(subject) },
    })
    kit = createConsentKit({
      policy,
      store: MemoryStore.make(),
      secret: "kit-secret-0123456789abcdef0123456789abcdef",
      messengers: [messenger],
      dispatcher: { autoStart: false, baseDelayMs: 0, maxDelayMs: 0 },
    })
    line = kit.adapter(messenger)
  })
  afterAll(async () => {
    await kit?.close()
    await server?.close()
  })

  const customers = async (tenant: string, count: number, prefix = "c") => {
    const subjects = Array.from({ length: count }, (_, i) => `${tenant}-${prefix}${i}`)
    for (const subject of subjects) {
      server.follow(lineId(subject))
      await kit.record({
        tenant,
        subject,
        source: "line-liff",
        decisions: [{ purpose: "marketing.line", action: "grant", noticeVersion: 1 }],
      })
    }
    await kit.dispatchPending()
    return subjects
  }
  const withdraw = (tenant: string, subject: string) =>
    kit.record({
      tenant,
      subject,
      source: "preference-center",
      decisions: [{ purpose: "marketing.line", action: "withdraw" }],
    })

  it("gates push and multicast per recipient", async () => {
    const tenant = freshTenant()
    const [a, b, d] = await customers(tenant, 3)
    const stranger = `${tenant}-stranger`
    await withdraw(tenant, d!)
    await kit.dispatchPending()

    const result = await line.multicast({
      tenant,
      subjects: [a!, b!, stranger, d!],
      purpose: "marketing.line",
      messages: text("flash-sale"),
    })
    expect(result.sent).toEqual([a, b])
    expect(result.refused).toEqual([
      { subject: stranger, reason: "no_consent" },
      { subject: d, reason: "withdrawn" },
    ])
    const multicasts = server.requests.filter(
      (r) =>
        r.path === "/v2/bot/message/multicast" && (r.body as { to: Array<string> }).to.includes(lineId(a!)),
    )
    expect(multicasts.map((r) => (r.body as { to: Array<string> }).to)).toEqual([[lineId(a!), lineId(b!)]])
    expect(multicasts[0]!.retryKey).toMatch(/^[0-9a-f-]{36}$/)

    const refusal = await line
      .push({ tenant, subject: d!, purpose: "marketing.line", messages: text("again") })
      .catch((e: unknown) => e)
    expect((refusal as ConsentRequired).decision.reason).toBe("withdrawn")
    for (const s of [stranger, d!]) expect(server.delivered(lineId(s))).toEqual([])
    expect(server.delivered(lineId(a!))).toEqual(["flash-sale"])
  })

  it("refuses broadcast for a consent-based purpose and allows it for a legal notice", async () => {
    const tenant = freshTenant()
    const [a] = await customers(tenant, 1)
    const before = server.requests.filter((r) => r.path === "/v2/bot/message/broadcast").length
    await expect(
      line.broadcast({ tenant, purpose: "marketing.line", messages: text("promo") }),
    ).rejects.toBeInstanceOf(BroadcastRefused)
    expect(server.requests.filter((r) => r.path === "/v2/bot/message/broadcast")).toHaveLength(before)
    await line.broadcast({ tenant, purpose: "notices", messages: text("privacy-notice-v2") })
    expect(server.requests.filter((r) => r.path === "/v2/bot/message/broadcast")).toHaveLength(before + 1)
    expect(server.delivered(lineId(a!))).toContain("privacy-notice-v2")
    expect(server.delivered(lineId(a!))).not.toContain("promo")
  })

  it("narrowcasts to consenting users minus an exclusion audience LINE applies at delivery", async () => {
    const tenant = freshTenant()
    const subjects = await customers(tenant, 100)
    const early = subjects.slice(0, 50)
    for (const s of early) await withdraw(tenant, s)
    await kit.dispatchPending()
    const exclusionId = line.exclusionAudience(tenant)!
    expect([...server.audiences.get(exclusionId)!.userIds].sort()).toEqual(early.map(lineId).sort())

    const result = await line.narrowcast({
      tenant,
      purpose: "marketing.line",
      messages: text("mid-year-sale"),
    })
    expect(result).toMatchObject({ via: "narrowcast", recipients: 50, exclusionAudienceGroupId: exclusionId })
    if (result.via !== "narrowcast") throw new Error("expected a narrowcast")
    expect([...server.audiences.get(result.audienceGroupId)!.userIds].sort()).toEqual(
      subjects.slice(50).map(lineId).sort(),
    )
    const request = server.narrowcasts.find((n) => n.requestId === result.requestId)!
    expect((request.body as { recipient: unknown }).recipient).toEqual({
      type: "operator",
      and: [
        { type: "audience", audienceGroupId: result.audienceGroupId },
        { type: "operator", not: { type: "audience", audienceGroupId: exclusionId } },
      ],
    })

    // Two withdraw after LINE accepted the narrowcast but before it delivers.
    const late = subjects.slice(50, 52)
    for (const s of late) await withdraw(tenant, s)
    await kit.dispatchPending()
    server.settle()
    expect(request.phase).toBe("succeeded")
    expect(request.delivered).toHaveLength(48)
    for (const s of [...early, ...late]) expect(server.delivered(lineId(s))).toEqual([])
    for (const s of subjects.slice(52)) expect(server.delivered(lineId(s))).toEqual(["mid-year-sale"])

    // A new grant cannot be removed from a LINE audience: the exclusion audience is replaced without them.
    await kit.record({
      tenant,
      subject: early[0]!,
      source: "preference-center",
      decisions: [{ purpose: "marketing.line", action: "grant", noticeVersion: 1 }],
    })
    await kit.dispatchPending()
    const rebuilt = line.exclusionAudience(tenant)!
    expect(rebuilt).not.toBe(exclusionId)
    expect(server.deletedAudiences).toContain(exclusionId)
    expect(server.audiences.get(rebuilt)!.userIds.has(lineId(early[0]!))).toBe(false)
    expect(server.audiences.get(rebuilt)!.userIds.size).toBe(51)
  })

  it("sends a narrowcast below LINE's 50-user minimum as a gated multicast", async () => {
    const tenant = freshTenant()
    const subjects = await customers(tenant, 3)
    const narrowcasts = server.narrowcasts.length
    expect(await line.narrowcast({ tenant, purpose: "marketing.line", messages: text("small") })).toEqual({
      via: "multicast",
      recipients: 3,
    })
    expect(server.narrowcasts).toHaveLength(narrowcasts)
    for (const s of subjects) expect(server.delivered(lineId(s))).toEqual(["small"])
  })

  it("records a verified unfollow as a withdrawal and rejects a bad signature", async () => {
    const tenant = freshTenant()
    const [subject] = await customers(tenant, 1)
    const userId = lineId(subject!)
    await kit.link({ tenant, subject: subject!, alias: { kind: "line", value: userId } })
    const webhook = unfollowWebhook(kit, { tenant, channelSecret: SECRET, path: "/line/webhook" })
    const body = JSON.stringify({
      destination: "Ubot",
      events: [
        {
          type: "unfollow",
          mode: "active",
          timestamp: Date.now(),
          source: { type: "user", userId },
          webhookEventId: "01HZXAMPLEUNFOLLOW0000000",
          deliveryContext: { isRedelivery: false },
        },
      ],
    })
    const post = (signature: string) =>
      webhook.handle(
        new Request("http://127.0.0.1/line/webhook", {
          method: "POST",
          headers: { "content-type": "application/json", "x-line-signature": signature },
          body,
        }),
      )
    const eventsBefore = (await kit.history(tenant, subject!)).length

    expect((await post(server.sign(body, "someone-elses-secret"))).status).toBe(401)
    expect((await post("")).status).toBe(401)
    expect((await kit.decide(tenant, subject!, "marketing.line")).reason).toBe("granted")
    expect(await kit.history(tenant, subject!)).toHaveLength(eventsBefore)

    expect((await post(server.sign(body, SECRET))).status).toBe(200)
    // LINE redelivers on timeouts: the same webhookEventId records once.
    expect((await post(server.sign(body, SECRET))).status).toBe(200)
    const withdrawals = (await kit.history(tenant, subject!)).filter((e) => e.action === "withdraw")
    expect(withdrawals).toMatchObject([{ purpose: "marketing.line", source: "line-unfollow" }])
    expect((await kit.decide(tenant, subject!, "notices")).allowed).toBe(true)
    await kit.dispatchPending()
    const refusal = await line
      .push({ tenant, subject: subject!, purpose: "marketing.line", messages: text("after-unfollow") })
      .catch((e: unknown) => e)
    expect(refusal).toBeInstanceOf(ConsentRequired)
    expect(server.audiences.get(line.exclusionAudience(tenant)!)!.userIds.has(userId)).toBe(true)
  })

  it("resolves a push LINE answered with a 2xx that has no sentMessages (or no JSON), and delivers it once", async () => {
    const tenant = freshTenant()
    const [a] = await customers(tenant, 1)
    for (const raw of ["", "{}", "null", "OK"]) {
      server.nextAnswerBody("/v2/bot/message/push", raw)
      const sent = await line.push({
        tenant,
        subject: a!,
        purpose: "marketing.line",
        messages: text(`t${raw}`),
      })
      expect(sent.sentMessages).toEqual([])
      expect(sent.decision.allowed).toBe(true)
    }
    expect(server.delivered(lineId(a!))).toEqual(["t", "t{}", "tnull", "tOK"])
  })

  it("sends every retry of one deliveryId with the same retry key, so LINE delivers a retried push once", async () => {
    const tenant = freshTenant()
    const [a, b] = await customers(tenant, 2)
    const keysOf = (subject: string) =>
      server.requests
        .filter((r) => r.path === "/v2/bot/message/push" && (r.body as { to: string }).to === lineId(subject))
        .map((r) => r.retryKey)
    const push = (subject: string, deliveryId: string) =>
      line.push({ tenant, subject, purpose: "marketing.line", messages: text("receipt-42"), deliveryId })

    // LINE delivers, then the answer is lost: the caller sees a failure and retries.
    server.loseNextAnswer("/v2/bot/message/push")
    await expect(push(a!, "order-42")).rejects.toThrow()
    expect(server.delivered(lineId(a!))).toEqual(["receipt-42"])
    const retried = await push(a!, "order-42")
    expect(retried.decision.allowed).toBe(true)
    // The repeat answers 409 with the first request's sentMessages: not sent again.
    expect(retried.sentMessages).toHaveLength(1)
    expect(await push(a!, "order-42")).toMatchObject({ sentMessages: retried.sentMessages })
    expect(server.delivered(lineId(a!))).toEqual(["receipt-42"])
    const [first, ...rest] = keysOf(a!)
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(rest).toEqual([first, first])

    // Another send, or the same id for another subject, is a different key and is delivered.
    await push(a!, "order-43")
    await push(b!, "order-42")
    expect(server.delivered(lineId(a!))).toEqual(["receipt-42", "receipt-42"])
    expect(server.delivered(lineId(b!))).toEqual(["receipt-42"])
    expect(new Set([...keysOf(a!), ...keysOf(b!)]).size).toBe(3)
  })

  it("sends a retried multicast once when it carries a deliveryId", async () => {
    const tenant = freshTenant()
    const [a, b] = await customers(tenant, 2)
    const send = () =>
      line.multicast({
        tenant,
        subjects: [a!, b!],
        purpose: "marketing.line",
        messages: text("flash"),
        deliveryId: "campaign-7",
      })
    server.loseNextAnswer("/v2/bot/message/multicast")
    await expect(send()).rejects.toThrow()
    expect(await send()).toMatchObject({ sent: [a, b] })
    for (const s of [a!, b!]) expect(server.delivered(lineId(s))).toEqual(["flash"])
  })

  it("refuses an empty or blank channel secret or access token at construction", () => {
    for (const secret of ["", "   ", "\t\n"])
      expect(() =>
        unfollowWebhook(kit, { tenant: "t", channelSecret: secret, path: "/line/webhook" }),
      ).toThrow(/channelSecret is empty.*LINE_CHANNEL_SECRET/)
    expect(() =>
      lineMessenger({ channelAccessToken: " ", baseURL: server.url, recipients: { resolve: () => null } }),
    ).toThrow(/channelAccessToken is empty/)
  })

  it("refuses a correctly signed unfollow older than the freshness window and records nothing", async () => {
    const tenant = freshTenant()
    const [subject] = await customers(tenant, 1)
    const userId = lineId(subject!)
    await kit.link({ tenant, subject: subject!, alias: { kind: "line", value: userId } })
    // A fixed clock a little ahead of the grant just recorded.
    const clock = Date.now() + 60 * 60 * 1000
    const webhook = unfollowWebhook(kit, {
      tenant,
      channelSecret: SECRET,
      path: "/line/webhook",
      now: () => clock,
    })
    const post = (timestamp: number, id: string) => {
      const body = JSON.stringify({
        destination: "Ubot",
        events: [
          {
            type: "unfollow",
            mode: "active",
            timestamp,
            source: { type: "user", userId },
            webhookEventId: id,
            deliveryContext: { isRedelivery: false },
          },
        ],
      })
      return webhook.handle(
        new Request("http://127.0.0.1/line/webhook", {
          method: "POST",
          headers: { "x-line-signature": server.sign(body, SECRET) },
          body,
        }),
      )
    }
    const before = (await kit.history(tenant, subject!)).length

    const stale = await post(clock - 60 * 60 * 1000 - 1, "01STALE")
    expect(stale.status).toBe(400)
    expect(await stale.json()).toEqual({ message: "an event is too old" })
    expect(await kit.history(tenant, subject!)).toHaveLength(before)
    expect((await kit.decide(tenant, subject!, "marketing.line")).reason).toBe("granted")

    // Within the hour (a redelivery, say) it still records.
    const fresh = await post(clock - 59 * 60 * 1000, "01FRESH")
    expect(fresh.status).toBe(200)
    expect(await fresh.json()).toEqual({ recorded: 1 })
    expect((await kit.decide(tenant, subject!, "marketing.line", { channel: "line" })).reason).toBe(
      "channel_withdrawn",
    )
  })

  it("answers a signed but malformed body with a generic 400, not the parser's text", async () => {
    const webhook = unfollowWebhook(kit, {
      tenant: freshTenant(),
      channelSecret: SECRET,
      path: "/line/webhook",
    })
    for (const [body, message] of [
      ["{not json", "the body is not JSON"],
      ['{"events":"x"}', "expected an events array"],
      [
        JSON.stringify({ events: [{ type: "unfollow", source: { type: "user", userId: lineId("x") } }] }),
        "an event has no timestamp",
      ],
    ]) {
      const response = await webhook.handle(
        new Request("http://127.0.0.1/line/webhook", {
          method: "POST",
          headers: { "x-line-signature": server.sign(body!, SECRET) },
          body,
        }),
      )
      expect(response.status).toBe(400)
      expect(await response.json()).toEqual({ message })
    }
  })
})
