/**
 * RFC 8058 one-click unsubscribe: a signed, per-recipient token in each marketing mail's
 * `List-Unsubscribe` URL, and a Web `Request` → `Response` handler that verifies it and records a
 * withdrawal of that mail's purpose (no cookie, no login: the token is the proof).
 *
 * @since 0.1.0
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import type { OptOutKit as InboundKit } from "./internal/gate.js"
import * as Core from "@consentkit/core"
import type { Route, RouteContext } from "@consentkit/core"

/** What an unsubscribe token proves: which subject of which tenant asked to stop which purpose, on which channel. */
export interface UnsubscribeClaims {
  readonly tenant: string
  readonly subject: string
  readonly purpose: string
  readonly channel: string
  /** When the mail carrying it was sent. */
  readonly issuedAt: Date
}

/** A secret, or several during a rotation: the first signs, any verifies. */
export type Secret = string | ReadonlyArray<string>

// Domain separation: the same secret used for something else never yields a valid token here.
const CONTEXT = "consentkit/list-unsubscribe/v1\u0000"

/** The secrets, each refused (`WeakSecret`) when empty, shorter than 32 bytes or a well-known placeholder. */
const secrets = (secret: Secret): ReadonlyArray<string> => {
  const list = typeof secret === "string" ? [secret] : secret
  if (list.length === 0) Core.Secret.assertStrong("", "the unsubscribe secret")
  for (const [i, s] of list.entries()) {
    Core.Secret.assertStrong(s, list.length > 1 ? `unsubscribe secret #${i + 1}` : "the unsubscribe secret")
  }
  return list
}

const mac = (secret: string, payload: string): Buffer =>
  createHmac("sha256", secret)
    .update(CONTEXT + payload)
    .digest()

/** Signs a token for one recipient and purpose: base64url(JSON claims) "." base64url(HMAC-SHA256). */
export const sign = (
  secret: Secret,
  claims: { tenant: string; subject: string; purpose: string; channel?: string },
  now: number = Date.now(),
): string => {
  const payload = Buffer.from(
    JSON.stringify({
      t: claims.tenant,
      s: claims.subject,
      p: claims.purpose,
      c: claims.channel ?? "email",
      iat: Math.floor(now / 1000),
    }),
  ).toString("base64url")
  return `${payload}.${mac(secrets(secret)[0]!, payload).toString("base64url")}`
}

const DAY_MS = 86_400_000

/**
 * How long a token works after the mail was sent, by default: 60 days. CAN-SPAM (15 U.S.C. 7704)
 * wants an opt-out mechanism to work for at least 30 days after the message; 60 leaves room for
 * mail read late, while a link found in an old mailbox stops withdrawing consent on its own.
 */
export const DEFAULT_MAX_AGE_MS = 60 * DAY_MS

/** The shortest `maxAgeMs` accepted: CAN-SPAM's 30 days (a shorter one is usually seconds passed as ms). */
export const MIN_MAX_AGE_MS = 30 * DAY_MS

const maxAgeOf = (maxAgeMs: number | undefined): number => {
  const value = maxAgeMs ?? DEFAULT_MAX_AGE_MS
  if (Number.isNaN(value) || value < MIN_MAX_AGE_MS)
    throw new Error(
      `unsubscribe maxAgeMs must be at least ${MIN_MAX_AGE_MS} ms (30 days, CAN-SPAM's minimum); got ${value}`,
    )
  return value
}

/** Why a token was refused: it is not ours (malformed, tampered with), or it is ours but past its age. */
export type Refusal = "invalid" | "expired"

/** Checks a token (constant-time): its claims, or why it is refused. */
export const check = (
  secret: Secret,
  token: string,
  options: { readonly maxAgeMs?: number; readonly now?: number } = {},
): { readonly claims: UnsubscribeClaims } | { readonly refused: Refusal } => {
  const maxAgeMs = maxAgeOf(options.maxAgeMs)
  const invalid = { refused: "invalid" } as const
  const dot = token.indexOf(".")
  if (dot <= 0 || dot !== token.lastIndexOf(".")) return invalid
  const payload = token.slice(0, dot)
  // Compared as text, so a non-canonical encoding of the same bytes (base64's spare bits) is refused too.
  const given = Buffer.from(token.slice(dot + 1))
  const valid = secrets(secret).some((s) => {
    const expected = Buffer.from(mac(s, payload).toString("base64url"))
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
  if (!valid) return invalid
  let claims: { t?: unknown; s?: unknown; p?: unknown; c?: unknown; iat?: unknown }
  try {
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))
  } catch {
    return invalid
  }
  const { t, s, p, c, iat } = claims
  if (typeof t !== "string" || typeof s !== "string" || typeof p !== "string" || typeof c !== "string")
    return invalid
  if (typeof iat !== "number" || !Number.isInteger(iat)) return invalid
  const issuedAt = new Date(iat * 1000)
  const now = options.now ?? Date.now()
  if (now - issuedAt.getTime() > maxAgeMs) return { refused: "expired" }
  return { claims: { tenant: t, subject: s, purpose: p, channel: c, issuedAt } }
}

/**
 * Verifies a token (constant-time); the claims, or null when it is malformed, tampered with or
 * older than `maxAgeMs` (default `DEFAULT_MAX_AGE_MS`, 60 days; `Infinity` for no limit).
 */
export const verify = (
  secret: Secret,
  token: string,
  options: { readonly maxAgeMs?: number; readonly now?: number } = {},
): UnsubscribeClaims | null => {
  const result = check(secret, token, options)
  return "claims" in result ? result.claims : null
}

/** The one URL of a mail's `List-Unsubscribe` header: `base` with the token in its `token` query parameter. */
export const url = (base: string, token: string): string => {
  const u = new URL(base)
  if (u.protocol !== "https:" && u.protocol !== "http:")
    throw new Error(`unsubscribe url must be http(s) (RFC 8058 requires https in production): ${base}`)
  u.searchParams.set("token", token)
  return u.toString()
}

/** core's `Route` (re-exported under its old name here so imports from this package keep compiling). */
export type { Route }

/** A core `Route` whose handler also takes a bare request (so a framework route can call it directly). */
export type WebhookRoute = Route & {
  readonly handle: (request: Request, context?: RouteContext) => Promise<Response>
}

/** What the one-click endpoint needs from the kit: its `optOut` command. */
export type OptOutKit = Pick<InboundKit, "optOut">

/** Options of `oneClickUnsubscribe`. */
export interface OneClickOptions {
  /** The secret the messenger signs its tokens with. */
  readonly secret: Secret
  /** Where the host mounts the route (e.g. `/consent/unsubscribe`); the messenger's `unsubscribe.url` must point here. */
  readonly path: string
  /**
   * Refuse tokens older than this, in ms (default `DEFAULT_MAX_AGE_MS`, 60 days; at least 30 days,
   * CAN-SPAM's minimum; `Infinity` for no limit).
   */
  readonly maxAgeMs?: number
  /** The current time in ms (default `Date.now`); tests pass a fixed clock. */
  readonly now?: () => number
  /** The ledger's `source` for these withdrawals (default `list-unsubscribe`). */
  readonly source?: string
}

const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } })

const readForm = async (request: Request): Promise<URLSearchParams | FormData | null> => {
  const type = request.headers.get("content-type") ?? ""
  try {
    if (type.startsWith("multipart/form-data")) return await request.formData()
    return new URLSearchParams(await request.text())
  } catch {
    return null
  }
}

/**
 * The RFC 8058 one-click endpoint: `POST <path>?token=...` with the body `List-Unsubscribe=One-Click`
 * records a withdrawal of the token's purpose (every channel that purpose governs stops) and answers
 * 200. A missing or tampered token gets 403, an expired one 410, and neither records anything; a body without
 * `List-Unsubscribe=One-Click` gets 400. GET is never an unsubscribe: link scanners prefetch URLs.
 */
export const oneClickUnsubscribe = (kit: OptOutKit, options: OneClickOptions): WebhookRoute => {
  secrets(options.secret)
  const maxAgeMs = maxAgeOf(options.maxAgeMs)
  const now = options.now ?? Date.now
  return {
    method: "POST",
    path: options.path,
    handle: async (request) => {
      if (request.method !== "POST") return text(405, "use POST", { allow: "POST" })
      const token = new URL(request.url).searchParams.get("token")
      const result = token ? check(options.secret, token, { maxAgeMs, now: now() }) : { refused: "invalid" }
      if (!("claims" in result))
        return result.refused === "expired"
          ? text(
              410,
              `this unsubscribe link has expired (links work for ${Math.floor(maxAgeMs / DAY_MS)} days after the mail was sent); use the unsubscribe link of a recent mail or the preference center`,
            )
          : text(403, "this unsubscribe link is not valid")
      const claims = result.claims
      const form = await readForm(request)
      if (form?.get("List-Unsubscribe") !== "One-Click")
        return text(400, 'expected the body "List-Unsubscribe=One-Click"')
      try {
        await kit.optOut({
          tenant: claims.tenant,
          subject: claims.subject,
          channel: claims.channel,
          purpose: claims.purpose,
          source: options.source ?? "list-unsubscribe",
          evidence: {
            metadata: {
              method: "rfc8058-one-click",
              mailIssuedAt: claims.issuedAt.toISOString(),
              client: request.headers.get("user-agent") ?? null,
            },
          },
        })
      } catch (error) {
        // A command the kit rejects (e.g. a purpose since removed from the policy) will not succeed on retry.
        if ((error as { _tag?: string })._tag === "InvalidCommand")
          return text(400, "this unsubscribe link no longer applies")
        throw error
      }
      return text(200, "unsubscribed")
    },
  }
}
