import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { smsInbound, twilioSignature } from "../src/index.js"
import { CHANNELS, channels, freshTenant, SMS_URL, signTwilio } from "./channels.js"

describe("inbound SMS opt-outs across every channel", () => {
  let c: Awaited<ReturnType<typeof channels>>
  beforeAll(async () => {
    c = await channels()
  })
  afterAll(() => c?.close())

  const inbound = (tenant: string, fields: Record<string, string>, signature = signTwilio(SMS_URL, fields)) =>
    c.smsFor(tenant).handle(
      new Request("http://127.0.0.1:8080/sms/inbound", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
        body: new URLSearchParams(fields),
      }),
    )

  it("turns an SMS STOP into a withdrawal of SMS alone: email, SendGrid, LINE and push keep sending", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-somchai`
    await c.customer(tenant, subject, "+66811111111")
    for (const channel of CHANNELS)
      expect(await c.send(channel, tenant, subject, `before-${channel}`)).toBe("sent")

    const fields = { From: "+66 81 111 1111", To: "+6620000000", Body: "STOP", MessageSid: "SM0001" }
    const response = await inbound(tenant, fields)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/xml")
    // Twilio retries a webhook it timed out on: the same MessageSid records once.
    expect((await inbound(tenant, fields)).status).toBe(200)

    const withdrawals = (await c.kit.history(tenant, subject)).filter((e) => e.action === "withdraw")
    expect(withdrawals).toHaveLength(1)
    expect(withdrawals[0]).toMatchObject({ purpose: "marketing", channel: "sms", source: "sms" })
    expect(withdrawals[0]!.evidence.metadata).toMatchObject({
      channel: "sms",
      keyword: "STOP",
      messageSid: "SM0001",
    })
    expect(await c.kit.gate.send({ tenant, subject, channel: "sms" })).toMatchObject({
      allowed: false,
      reason: "channel_withdrawn",
    })
    // The purpose itself stands: only its SMS channel closed.
    expect((await c.kit.decide(tenant, subject, "marketing")).allowed).toBe(true)

    // The other channels keep sending, before and after the suppression is delivered...
    for (const channel of CHANNELS)
      expect(await c.send(channel, tenant, subject, `after-${channel}`)).toBe("sent")
    const sendgridBefore = c.sendgrid.requests.length
    await c.kit.dispatchPending()
    // ...and no other provider was told to suppress: no SendGrid call, no LINE exclusion.
    expect(c.sendgrid.requests.length).toBe(sendgridBefore)
    expect(c.sendgrid.globalSuppressions.has(c.emailOf(subject))).toBe(false)
    const exclusion = c.lineM.exclusionAudience(tenant)
    const excluded = exclusion ? c.line.audiences.get(exclusion)?.userIds : undefined
    expect(excluded?.has(c.lineIdOf(subject)) ?? false).toBe(false)
    expect(await c.push.subscriptions.list(tenant, subject)).not.toEqual([])
    for (const channel of CHANNELS)
      expect(await c.send(channel, tenant, subject, `later-${channel}`)).toBe("sent")

    expect(c.received(subject)).toEqual({
      email: ["before-email", "after-email", "later-email"],
      sendgrid: ["before-sendgrid", "after-sendgrid", "later-sendgrid"],
      line: ["before-line", "after-line", "later-line"],
      push: ["before-push", "after-push", "later-push"],
    })
  })

  it("understands Thai ยกเลิก, and records nothing for other texts or unknown numbers", async () => {
    const tenant = freshTenant()
    const thai = `${tenant}-malee`
    const chatty = `${tenant}-niran`
    await c.customer(tenant, thai, "+66822222222")
    await c.customer(tenant, chatty, "+66833333333")

    expect(
      (await inbound(tenant, { From: "+66822222222", Body: " ยกเลิก ", MessageSid: "SM0002" })).status,
    ).toBe(200)
    expect(
      (await inbound(tenant, { From: "+66833333333", Body: "stop by the shop later?", MessageSid: "SM0003" }))
        .status,
    ).toBe(200)
    expect((await inbound(tenant, { From: "+66899999999", Body: "STOP", MessageSid: "SM0004" })).status).toBe(
      200,
    )

    expect((await c.kit.gate.send({ tenant, subject: thai, channel: "sms" })).reason).toBe(
      "channel_withdrawn",
    )
    expect((await c.kit.decide(tenant, chatty, "marketing")).reason).toBe("granted")
    expect(await c.kit.history(tenant, chatty)).toHaveLength(1)
  })

  it("rejects a request whose Twilio signature does not verify, and records nothing", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-wichai`
    await c.customer(tenant, subject, "+66844444444")
    const fields = { From: "+66844444444", Body: "STOP", MessageSid: "SM0005" }
    const forged = signTwilio(SMS_URL, { ...fields, From: "+66800000000" })
    expect((await inbound(tenant, fields, forged)).status).toBe(403)
    expect((await inbound(tenant, fields, "")).status).toBe(403)
    expect((await c.kit.decide(tenant, subject, "marketing")).reason).toBe("granted")
    expect(await c.kit.history(tenant, subject)).toHaveLength(1)
    expect(await c.send("line", tenant, subject, "still-subscribed")).toBe("sent")
  })

  it("refuses an empty or blank Twilio auth token when the route is built, so an empty-key signature never verifies", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-preecha`
    await c.customer(tenant, subject, "+66855555555")
    for (const twilioAuthToken of ["", "  ", "\n", undefined as unknown as string])
      expect(() =>
        smsInbound(c.kit, {
          tenant,
          path: "/sms/inbound",
          verification: { twilioAuthToken, publicUrl: SMS_URL },
        }),
      ).toThrow(/twilioAuthToken is empty/)
    // What the forger would send: a signature made with the empty key. The configured route refuses it.
    const fields = { From: "+66855555555", Body: "STOP", MessageSid: "SM0006" }
    expect(
      (await inbound(tenant, fields, twilioSignature("", SMS_URL, new URLSearchParams(fields)))).status,
    ).toBe(403)
    expect((await c.kit.decide(tenant, subject, "marketing")).reason).toBe("granted")
    expect(await c.kit.history(tenant, subject)).toHaveLength(1)
  })
})
