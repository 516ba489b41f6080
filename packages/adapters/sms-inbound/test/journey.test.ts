import { Campaign } from "@consentkit/core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Channel, channels, freshTenant, SMS_URL, signTwilio } from "./channels.js"

describe("a three-step journey across channels", () => {
  let c: Awaited<ReturnType<typeof channels>>
  beforeAll(async () => {
    c = await channels()
  })
  afterAll(() => c?.close())

  it("after a mid-journey opt-out, stops the channel it came from and only that one", async () => {
    const tenant = freshTenant()
    const [stays, unsubscribes, texts] = ["stays", "clicks-unsubscribe", "texts-stop"].map(
      (s) => `${tenant}-${s}`,
    )
    await c.customer(tenant, stays!, "+66811110001")
    await c.customer(tenant, unsubscribes!, "+66811110002")
    await c.customer(tenant, texts!, "+66811110003")

    const journey = Campaign.journey(c.kit, {
      id: "welcome-series",
      steps: [
        { id: "1-welcome", channel: "email", purpose: "marketing", message: () => "1-welcome" },
        { id: "2-coupon", channel: "line", purpose: "marketing", message: () => "2-coupon" },
        { id: "3-reminder", channel: "email", purpose: "marketing", message: () => "3-reminder" },
      ],
      deliver: async (text, { tenant, subject, step }) => {
        // Each step goes out through its channel's gated messenger, which checks consent again.
        const outcome = await c.send(step.channel as Channel, tenant, subject, text)
        if (outcome !== "sent") throw new Error(`step ${step.id}: ${outcome}`)
      },
    })
    const everyone = [stays!, unsubscribes!, texts!]
    const run = async (step: string) => {
      const outcomes: Record<string, { sent: boolean; reason: string }> = {}
      for (const subject of everyone) {
        const o = await journey.runStep(step, { tenant, subject })
        outcomes[subject] = { sent: o.sent, reason: o.decision.reason }
      }
      return outcomes
    }

    expect(Object.values(await run("1-welcome")).every((o) => o.sent)).toBe(true)

    // Between steps 1 and 2: one customer clicks the welcome mail's one-click unsubscribe, one texts ยกเลิก.
    const link = c.smtp.to(c.emailOf(unsubscribes!))[0]!.header("List-Unsubscribe")!.slice(1, -1)
    const click = await c.unsubscribe.handle(
      new Request(link, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "List-Unsubscribe=One-Click",
      }),
    )
    expect(click.status).toBe(200)
    const sms = { From: "+66811110003", Body: "ยกเลิก", MessageSid: "SM-journey" }
    const reply = await c.smsFor(tenant).handle(
      new Request(SMS_URL, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-twilio-signature": signTwilio(SMS_URL, sms),
        },
        body: new URLSearchParams(sms),
      }),
    )
    expect(reply.status).toBe(200)

    // Step 2 runs before the dispatcher delivered the suppressions, step 3 after.
    const second = await run("2-coupon")
    await c.kit.dispatchPending()
    const third = await run("3-reminder")
    // The LINE step reaches all three: an email unsubscribe and an SMS STOP leave LINE open.
    for (const subject of everyone) expect(second[subject]).toEqual({ sent: true, reason: "granted" })
    // The second email reaches everyone but the one who unsubscribed from email.
    expect(third[stays!]).toEqual({ sent: true, reason: "granted" })
    expect(third[unsubscribes!]).toEqual({ sent: false, reason: "channel_withdrawn" })
    expect(third[texts!]).toEqual({ sent: true, reason: "granted" })
    expect((await c.kit.gate.send({ tenant, subject: texts!, channel: "sms" })).reason).toBe(
      "channel_withdrawn",
    )

    for (const subject of [stays!, texts!])
      expect(c.received(subject)).toEqual({
        email: ["1-welcome", "3-reminder"],
        sendgrid: [],
        line: ["2-coupon"],
        push: [],
      })
    expect(c.received(unsubscribes!)).toEqual({
      email: ["1-welcome"],
      sendgrid: [],
      line: ["2-coupon"],
      push: [],
    })
    // What the local SMTP server received for the one who unsubscribed: the first mail only.
    expect(c.smtp.to(c.emailOf(unsubscribes!))).toHaveLength(1)
    const pushedTo = c.line.requests
      .filter((r) => r.path === "/v2/bot/message/push")
      .map((r) => (r.body as { to?: string }).to)
    expect(pushedTo.sort()).toEqual(everyone.map(c.lineIdOf).sort())
  })

  it("builds segments that hold only customers who allow the channel, streamed from the store", async () => {
    const tenant = freshTenant()
    const [a, b, withdrawn] = ["a", "b", "withdrawn"].map((s) => `${tenant}-${s}`)
    for (const [i, subject] of [a!, b!, withdrawn!].entries())
      await c.customer(tenant, subject, `+6681222000${i}`)
    await c.kit.optOut({ tenant, subject: withdrawn!, channel: "line", source: "line-unfollow" })
    const never = `${tenant}-never`
    await c.kit.record({
      tenant,
      subject: never,
      source: "signup",
      decisions: [{ purpose: "marketing", action: "deny" }],
    })

    const segment: Array<string> = []
    for await (const subject of Campaign.audience(c.kit, { tenant, channel: "line", pageSize: 1 }))
      segment.push(subject)
    expect(segment.sort()).toEqual([a!, b!].sort())

    const result = await c.lineM.multicast({
      tenant,
      subjects: segment,
      purpose: "marketing",
      messages: [{ type: "text", text: "segment" }],
    })
    expect(result.refused).toEqual([])
    for (const s of [a!, b!]) expect(c.received(s).line).toEqual(["segment"])
    for (const s of [withdrawn!, never]) expect(c.received(s).line).toEqual([])
  })
})
