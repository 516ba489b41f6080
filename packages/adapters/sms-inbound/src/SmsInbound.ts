/**
 * Inbound SMS opt-outs: a Twilio-style webhook (form fields `From`, `Body`, `MessageSid`) whose
 * message is an opt-out keyword (STOP, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPT OUT, ยกเลิก, ...)
 * becomes `kit.optOut({ channel: "sms", source: "sms" })`: a withdrawal of every purpose SMS
 * serves, on SMS alone (email, LINE and push of those purposes stay as they were).
 *
 * @since 0.1.0
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { type MessengerGate, OptOut } from "@consentkit/core"
import type { Route, RouteContext } from "@consentkit/core"

/** What the handler needs from the kit: `optOut` and `resolveAlias` (any `createConsentKit(...)` client). */
export type OptOutKit = MessengerGate.OptOutKit

/** core's `Route` (re-exported under its old name here so imports from this package keep compiling). */
export type { Route }

/** A core `Route` whose handler also takes a bare request (so a framework route can call it directly). */
export type WebhookRoute = Route & {
  readonly handle: (request: Request, context?: RouteContext) => Promise<Response>
}

/** How requests are authenticated. */
export type Verification =
  /**
   * Twilio's `X-Twilio-Signature`: HMAC-SHA1 of the public URL and the sorted form fields with the
   * auth token (read it from the environment; an empty or blank token is refused when the route is
   * built, since anyone can sign with an empty key).
   */
  | { readonly twilioAuthToken: string; readonly publicUrl?: string }
  /** Any other scheme (a shared secret header, mTLS at the proxy): resolve true to accept. */
  | { readonly verify: (request: Request, fields: URLSearchParams) => boolean | Promise<boolean> }
  /** Accept unsigned requests (tests, or a gateway that authenticates before the app). */
  | { readonly unsigned: true }

/** Options of `smsInbound`. */
export interface SmsInboundOptions {
  /** The tenant (brand) whose SMS number posts to this route. */
  readonly tenant: string
  /** Where the host mounts the route (the number's inbound webhook URL). */
  readonly path: string
  readonly verification: Verification
  /** Opt-out words (default core's `OptOut.SMS_KEYWORDS`, Thai included). */
  readonly keywords?: ReadonlyArray<string>
  /** The channel whose purposes an opt-out withdraws (default `sms`). */
  readonly channel?: string
  /** Phone number → subject; default: the subject linked with `kit.link({ alias: { kind: "phone", value } })`. */
  readonly resolveSubject?: (tenant: string, phone: string) => Promise<string | null> | string | null
}

/** Twilio's request signature: base64 HMAC-SHA1 over the URL followed by each field name and value, sorted by name. */
export const twilioSignature = (authToken: string, url: string, fields: URLSearchParams): string => {
  const names = [...new Set(fields.keys())].sort()
  const data =
    url +
    names
      .map((n) =>
        fields
          .getAll(n)
          .sort()
          .map((v) => n + v)
          .join(""),
      )
      .join("")
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64")
}

const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

// An empty TwiML answer: the carrier or Twilio's Advanced Opt-Out sends the confirmation text.
const twiml = (status = 200) =>
  new Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', {
    status,
    headers: { "content-type": "text/xml; charset=utf-8" },
  })

const normalisePhone = (phone: string) => phone.replace(/[\s().-]/g, "")

/** Checks the verification when the route is built: a route that would accept forged requests never starts. */
const checkVerification = (v: Verification): void => {
  if (typeof v !== "object" || v === null) throw new Error("smsInbound: give a verification")
  if ("unsigned" in v) {
    if (v.unsigned !== true) throw new Error("smsInbound: verification.unsigned must be true when given")
    return
  }
  if ("verify" in v) {
    if (typeof v.verify !== "function") throw new Error("smsInbound: verification.verify must be a function")
    return
  }
  const token: unknown = (v as { twilioAuthToken?: unknown }).twilioAuthToken
  if (typeof token !== "string" || token.trim() === "")
    throw new Error(
      "smsInbound: verification.twilioAuthToken is empty; pass the account's auth token from the Twilio console (e.g. process.env.TWILIO_AUTH_TOKEN), never a fallback",
    )
}

/**
 * The inbound SMS webhook. A request that fails verification gets 403 and records nothing; a
 * message that is not an opt-out keyword, or comes from a number linked to no subject, is
 * acknowledged (200) and records nothing; an opt-out records one withdrawal per `MessageSid`.
 * An empty or blank `twilioAuthToken` throws here, when the route is built.
 */
export const smsInbound = (kit: OptOutKit, options: SmsInboundOptions): WebhookRoute => {
  checkVerification(options.verification)
  const channel = options.channel ?? "sms"
  const resolveSubject =
    options.resolveSubject ?? ((tenant, phone) => kit.resolveAlias(tenant, { kind: "phone", value: phone }))
  const verified = async (request: Request, fields: URLSearchParams): Promise<boolean> => {
    const v = options.verification
    if ("unsigned" in v) return v.unsigned === true
    if ("verify" in v) return v.verify(request, fields)
    const given = request.headers.get("x-twilio-signature")
    return (
      given !== null &&
      safeEqual(given, twilioSignature(v.twilioAuthToken, v.publicUrl ?? request.url, fields))
    )
  }
  return {
    method: "POST",
    path: options.path,
    handle: async (request) => {
      if (request.method !== "POST")
        return new Response("use POST", { status: 405, headers: { allow: "POST" } })
      const fields = new URLSearchParams(await request.text())
      if (!(await verified(request, fields))) return new Response("forbidden", { status: 403 })
      const from = normalisePhone(fields.get("From") ?? "")
      const body = fields.get("Body") ?? ""
      if (from === "" || !OptOut.isSmsOptOut(body, options.keywords)) return twiml()
      const subject = await resolveSubject(options.tenant, from)
      if (!subject) return twiml()
      const sid = fields.get("MessageSid") ?? fields.get("SmsSid")
      await kit.optOut({
        tenant: options.tenant,
        subject,
        channel,
        source: "sms",
        ...(sid ? { idempotencyKey: `sms:${sid}` } : {}),
        evidence: { metadata: { keyword: body.trim(), messageSid: sid ?? null } },
      })
      return twiml()
    },
  }
}
