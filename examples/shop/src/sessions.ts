/**
 * Signed cookies for the demo's two kinds of session: a signed-in customer and the demo operator.
 * HMAC-SHA256 over the value; HttpOnly, SameSite=Lax (so a cross-site form cannot post with them).
 */
import { createHmac, timingSafeEqual } from "node:crypto"

/** The customer session cookie. */
export const CUSTOMER_COOKIE = "shop_session"
/** The operator session cookie. */
export const OPERATOR_COOKIE = "shop_operator"
/** The shop's language cookie. */
export const LANG_COOKIE = "shop_lang"
/** Where the visitor ships to (the jurisdiction a geo header would give a real shop). */
export const REGION_COOKIE = "shop_region"

/** Cookies of a `Cookie` header. */
export const cookiesOf = (header: string | null | undefined): Map<string, string> => {
  const out = new Map<string, string>()
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=")
    if (eq <= 0) continue
    const name = part.slice(0, eq).trim()
    try {
      out.set(name, decodeURIComponent(part.slice(eq + 1).trim()))
    } catch {
      // A cookie that is not valid percent-encoding is not ours.
    }
  }
  return out
}

/** Signs and checks session values with one secret. */
export const signer = (secret: string) => {
  const mac = (value: string) => createHmac("sha256", secret).update(value).digest("base64url")
  return {
    sign: (value: string) => `${value}.${mac(value)}`,
    /** The value of a signed token, or null when the signature does not match. */
    verify: (token: string | undefined | null): string | null => {
      if (!token) return null
      const dot = token.lastIndexOf(".")
      if (dot <= 0) return null
      const value = token.slice(0, dot)
      const given = Buffer.from(token.slice(dot + 1))
      const expected = Buffer.from(mac(value))
      return given.length === expected.length && timingSafeEqual(given, expected) ? value : null
    },
  }
}

/** A `Set-Cookie` value. */
export const cookie = (
  name: string,
  value: string,
  options: { readonly maxAgeSeconds?: number; readonly httpOnly?: boolean; readonly secure?: boolean } = {},
): string =>
  [
    `${name}=${encodeURIComponent(value)}`,
    "Path=/",
    "SameSite=Lax",
    options.httpOnly === false ? "" : "HttpOnly",
    options.secure ? "Secure" : "",
    options.maxAgeSeconds !== undefined ? `Max-Age=${options.maxAgeSeconds}` : "",
  ]
    .filter(Boolean)
    .join("; ")
