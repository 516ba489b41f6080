/**
 * Every messenger on its real SDK against its local provider, in one kit, with one purpose that
 * governs email, SMS, LINE and push: what the cross-channel tests share.
 */
import { createHash, createHmac } from "node:crypto"
import { ConsentRequired, createConsentKit, MemoryStore, Policy } from "@consentkit/core"
import { lineMessenger } from "@consentkit/adapter-line"
import { localLine } from "@consentkit/adapter-line/testing"
import { nodemailerMessenger, oneClickUnsubscribe } from "@consentkit/adapter-nodemailer"
import { localSmtp } from "@consentkit/adapter-nodemailer/testing"
import { sendgridMessenger } from "@consentkit/adapter-sendgrid"
import { localSendGrid } from "@consentkit/adapter-sendgrid/testing"
import { webPushMessenger } from "@consentkit/adapter-webpush"
import { type BrowserSubscription, localPushService } from "@consentkit/adapter-webpush/testing"
import nodemailer from "nodemailer"
import webpush from "web-push"
import { smsInbound } from "../src/index.js"

export const policy = Policy.define({
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
      title: { en: "Offers on every channel", th: "ข้อเสนอทุกช่องทาง" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "m1", material: true }],
      channels: ["email", "sms", "line", "push"],
    },
  },
})

export const TWILIO_TOKEN = "twilio-auth-token-for-tests"
export const SMS_URL = "https://siamtea.example/sms/inbound"
const UNSUBSCRIBE_SECRET = "unsubscribe-secret-for-tests-0123"
const LINE_TOKEN = "line-token"
const SENDGRID_KEY = "SG.test"

export type Channel = "email" | "sendgrid" | "line" | "push"
export const CHANNELS: ReadonlyArray<Channel> = ["email", "sendgrid", "line", "push"]

let tenants = 0
/** A tenant no other test uses. */
export const freshTenant = () => `x-${Date.now().toString(36)}-${tenants++}`

/** Twilio's documented signature, written out independently of the code under test. */
export const signTwilio = (url: string, fields: Record<string, string>) =>
  createHmac("sha1", TWILIO_TOKEN)
    .update(
      url +
        Object.keys(fields)
          .sort()
          .map((k) => k + fields[k])
          .join(""),
    )
    .digest("base64")

/** Starts the four local providers and a kit with all four messengers. */
export const channels = async () => {
  const [smtp, line, sendgrid, pushService] = await Promise.all([
    localSmtp(),
    localLine({ channelAccessToken: LINE_TOKEN }),
    localSendGrid({ apiKey: SENDGRID_KEY }),
    localPushService(),
  ])
  const emailOf = (subject: string) => `${subject}@customers.example`
  const lineIdOf = (subject: string) => `U${createHash("md5").update(subject).digest("hex")}`
  const browsers = new Map<string, BrowserSubscription>()

  const mailer = nodemailerMessenger({
    transport: nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: false,
      ignoreTLS: true,
    }),
    from: "Siam Tea <news@siamtea.example>",
    recipients: { resolve: (_t, subject) => emailOf(subject) },
    unsubscribe: { url: "https://siamtea.example/consent/unsubscribe", secret: UNSUBSCRIBE_SECRET },
  })
  const lineMessages = lineMessenger({
    channelAccessToken: LINE_TOKEN,
    baseURL: line.url,
    recipients: { resolve: (_t, subject) => lineIdOf(subject) },
  })
  const sendgridMail = sendgridMessenger({
    apiKey: SENDGRID_KEY,
    baseUrl: sendgrid.url,
    from: "news@siamtea.example",
    recipients: { resolve: (_t, subject) => emailOf(subject) },
    suppression: { kind: "global" },
  })
  const webPush = webPushMessenger({
    vapid: { subject: "mailto:dpo@siamtea.example", ...webpush.generateVAPIDKeys() },
    agent: pushService.agent,
  })
  const kit = createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "kit-secret-0123456789abcdef0123456789abcdef",
    messengers: [mailer, lineMessages, sendgridMail, webPush],
    dispatcher: { autoStart: false, baseDelayMs: 0, maxDelayMs: 0 },
  })
  // Each messenger as the kit built it, with the kit's gate.
  const mail = kit.adapter(mailer)
  const lineM = kit.adapter(lineMessages)
  const sg = kit.adapter(sendgridMail)
  const push = kit.adapter(webPush)

  const unsubscribe = oneClickUnsubscribe(kit, { secret: UNSUBSCRIBE_SECRET, path: "/consent/unsubscribe" })

  return {
    kit,
    mail,
    line,
    lineM,
    sendgrid,
    pushService,
    push,
    unsubscribe,
    smtp,
    emailOf,
    lineIdOf,
    /** The SMS webhook of one tenant (one number per brand). */
    smsFor: (tenant: string) =>
      smsInbound(kit, {
        tenant,
        path: "/sms/inbound",
        verification: { twilioAuthToken: TWILIO_TOKEN, publicUrl: SMS_URL },
      }),
    /** A customer with an address on every channel, a linked phone number, and consent to `marketing`. */
    customer: async (tenant: string, subject: string, phone: string) => {
      line.follow(lineIdOf(subject))
      sendgrid.addContact(emailOf(subject))
      await kit.link({ tenant, subject, alias: { kind: "phone", value: phone } })
      await kit.record({
        tenant,
        subject,
        source: "signup",
        decisions: [{ purpose: "marketing", action: "grant", noticeVersion: 1 }],
      })
      await kit.dispatchPending()
      const browser = pushService.subscribe()
      browsers.set(subject, browser)
      await push.subscribe({ tenant, subject, subscription: browser.subscription, purpose: "marketing" })
    },
    /** Sends one message on one channel through its messenger: "sent", or the refusal's reason. */
    send: async (channel: Channel, tenant: string, subject: string, text: string): Promise<string> => {
      const purpose = "marketing"
      try {
        if (channel === "email")
          await mail.send({ tenant, subject, purpose, message: { subject: text, text } })
        if (channel === "sendgrid")
          await sg.send({ tenant, subject, purpose, message: { subject: text, text } })
        if (channel === "line")
          await lineM.push({ tenant, subject, purpose, messages: [{ type: "text", text }] })
        if (channel === "push") await push.send({ tenant, subject, purpose, payload: text })
        return "sent"
      } catch (error) {
        if (error instanceof ConsentRequired) return error.decision.reason
        throw error
      }
    },
    /** What each local provider delivered to a subject. */
    received: (subject: string): Record<Channel, ReadonlyArray<string>> => ({
      email: smtp.to(emailOf(subject)).map((m) => m.text),
      sendgrid: sendgrid.delivered(emailOf(subject)),
      line: line.delivered(lineIdOf(subject)),
      push: browsers.has(subject) ? pushService.received(browsers.get(subject)!.id) : [],
    }),
    close: async () => {
      await kit.close()
      await Promise.all([smtp.close(), line.close(), sendgrid.close(), pushService.close()])
    },
  }
}
