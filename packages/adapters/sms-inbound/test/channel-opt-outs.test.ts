import { unfollowWebhook } from "@consentkit/adapter-line"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CHANNELS, channels, freshTenant } from "./channels.js"

const LINE_SECRET = "line-channel-secret-for-tests"

describe("channel-level opt-outs against every local provider", () => {
  let c: Awaited<ReturnType<typeof channels>>
  beforeAll(async () => {
    c = await channels()
  })
  afterAll(() => c?.close())

  /** A LINE webhook call as LINE makes it: signed body, one event of `type` for the subject's LINE user. */
  const lineEvent = (tenant: string, subject: string, type: "follow" | "unfollow", id: string) => {
    const body = JSON.stringify({
      destination: "Ubot",
      events: [
        {
          type,
          mode: "active",
          timestamp: Date.now(),
          source: { type: "user", userId: c.lineIdOf(subject) },
          webhookEventId: id,
          deliveryContext: { isRedelivery: false },
          ...(type === "follow" ? { replyToken: "r", follow: { isUnblocked: true } } : {}),
        },
      ],
    })
    return unfollowWebhook(c.kit, { tenant, channelSecret: LINE_SECRET, path: "/line/webhook" }).handle(
      new Request("http://127.0.0.1/line/webhook", {
        method: "POST",
        headers: { "content-type": "application/json", "x-line-signature": c.line.sign(body, LINE_SECRET) },
        body,
      }),
    )
  }
  const linePushesTo = (subject: string) =>
    c.line.requests.filter(
      (r) => r.path === "/v2/bot/message/push" && (r.body as { to?: string }).to === c.lineIdOf(subject),
    ).length

  it("a LINE unfollow refuses LINE sends only; email (SMTP and SendGrid) and push still go out", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-nok`
    await c.customer(tenant, subject, "+66811112222")
    await c.kit.link({ tenant, subject, alias: { kind: "line", value: c.lineIdOf(subject) } })

    const response = await lineEvent(tenant, subject, "unfollow", "01HUNFOLLOW0000000000000001")
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ recorded: 1 })
    const [withdrawal] = (await c.kit.history(tenant, subject)).filter((e) => e.action === "withdraw")
    expect(withdrawal).toMatchObject({ purpose: "marketing", channel: "line", source: "line-unfollow" })

    const sendgridBefore = c.sendgrid.requests.filter((r) => r.path.startsWith("/v3/asm")).length
    await c.kit.dispatchPending()
    const outcomes: Record<string, string> = {}
    for (const channel of CHANNELS)
      outcomes[channel] = await c.send(channel, tenant, subject, `after-${channel}`)
    expect(outcomes).toEqual({ email: "sent", sendgrid: "sent", line: "channel_withdrawn", push: "sent" })

    // The local providers: LINE got no push after the unfollow, and the user is on the exclusion
    // audience; SMTP and SendGrid delivered; SendGrid was asked to suppress nothing.
    expect(linePushesTo(subject)).toBe(0)
    const excludedIn = c.lineM.exclusionAudience(tenant)!
    expect(c.line.audiences.get(excludedIn)!.userIds.has(c.lineIdOf(subject))).toBe(true)
    expect(c.smtp.to(c.emailOf(subject)).map((m) => m.text)).toEqual(["after-email"])
    expect(c.sendgrid.delivered(c.emailOf(subject))).toEqual(["after-sendgrid"])
    expect(c.sendgrid.requests.filter((r) => r.path.startsWith("/v3/asm")).length).toBe(sendgridBefore)
    expect(c.sendgrid.globalSuppressions.has(c.emailOf(subject))).toBe(false)

    // Re-following reopens LINE (and only what the unfollow closed).
    expect((await lineEvent(tenant, subject, "follow", "01HFOLLOW00000000000000001")).status).toBe(200)
    await c.kit.dispatchPending()
    expect(await c.send("line", tenant, subject, "welcome-back")).toBe("sent")
    expect(c.line.delivered(c.lineIdOf(subject))).toEqual(["welcome-back"])
    // LINE cannot remove a user from an audience: the old exclusion audience was deleted.
    const rebuilt = c.lineM.exclusionAudience(tenant)
    expect(c.line.deletedAudiences).toContain(excludedIn)
    expect(rebuilt === null || !c.line.audiences.get(rebuilt)!.userIds.has(c.lineIdOf(subject))).toBe(true)
  })

  it("a LINE follow of someone who never unfollowed grants nothing", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-new`
    await c.kit.link({ tenant, subject, alias: { kind: "line", value: c.lineIdOf(subject) } })
    expect((await lineEvent(tenant, subject, "follow", "01HFOLLOW00000000000000002")).status).toBe(200)
    expect((await c.kit.history(tenant, subject)).filter((e) => e.action === "grant")).toEqual([])
    expect(await c.send("line", tenant, subject, "unsolicited")).toBe("no_consent")
    expect(linePushesTo(subject)).toBe(0)
  })

  it("an email one-click unsubscribe refuses email on SMTP and SendGrid; LINE and push still go out", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-ploy`
    await c.customer(tenant, subject, "+66811113333")
    expect(await c.send("email", tenant, subject, "newsletter-1")).toBe("sent")
    const link = c.smtp.to(c.emailOf(subject))[0]!.header("List-Unsubscribe")!.slice(1, -1)
    const click = await c.unsubscribe.handle(
      new Request(link, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "List-Unsubscribe=One-Click",
      }),
    )
    expect(click.status).toBe(200)
    const [withdrawal] = (await c.kit.history(tenant, subject)).filter((e) => e.action === "withdraw")
    expect(withdrawal).toMatchObject({ purpose: "marketing", channel: "email" })

    await c.kit.dispatchPending()
    const outcomes: Record<string, string> = {}
    for (const channel of CHANNELS)
      outcomes[channel] = await c.send(channel, tenant, subject, `after-${channel}`)
    expect(outcomes).toEqual({
      email: "channel_withdrawn",
      sendgrid: "channel_withdrawn",
      line: "sent",
      push: "sent",
    })
    // SendGrid, an email provider, now holds the suppression; LINE holds none.
    expect(c.sendgrid.globalSuppressions.has(c.emailOf(subject))).toBe(true)
    expect(c.received(subject)).toEqual({
      email: ["newsletter-1"],
      sendgrid: [],
      line: ["after-line"],
      push: ["after-push"],
    })
    const exclusion = c.lineM.exclusionAudience(tenant)
    expect(
      (exclusion ? c.line.audiences.get(exclusion)?.userIds : undefined)?.has(c.lineIdOf(subject)) ?? false,
    ).toBe(false)
  })
})
