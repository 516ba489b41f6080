/**
 * Anonymous visitor ids the server issues and can recognise: `v_` and 128 random bits
 * (base64url), in their own namespace (a customer id never starts with `v_`), carried in a cookie
 * `<id>.<tag>` whose tag is an HMAC-SHA-256 of the tenant and the id under a key derived from the
 * kit's secret. A value the server did not issue (unsigned, foreign, altered, another tenant's) is
 * treated as absent.
 *
 * @since 0.3.0
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import type { Kit } from "../types.js"

/** The prefix of every visitor id; customer ids must not use it. */
export const VISITOR_PREFIX = "v_"
const VISITOR_ID = /^v_[A-Za-z0-9_-]{22}$/
const TAG = /^[A-Za-z0-9_-]{43}$/
/** The HKDF label of the cookie-signing key. */
export const VISITOR_KEY_LABEL = "consentkit/http/visitor-cookie/v1"

/** Issues and verifies signed visitor cookies for one handler. */
export const makeVisitors = (kit: Kit) => {
  let key: Promise<Uint8Array> | undefined
  const keyOf = () => {
    key ??= kit.deriveKey(VISITOR_KEY_LABEL)
    return key
  }
  const tagOf = async (tenant: string, id: string) =>
    createHmac("sha256", await keyOf())
      .update(`${tenant}\u0000${id}`, "utf8")
      .digest()

  return {
    /** A new visitor id and the cookie value that carries it. */
    issue: async (tenant: string): Promise<{ id: string; cookie: string }> => {
      const id = `${VISITOR_PREFIX}${randomBytes(16).toString("base64url")}`
      return { id, cookie: `${id}.${(await tagOf(tenant, id)).toString("base64url")}` }
    },
    /** The visitor id a cookie value carries, or null unless this server issued it for this tenant. */
    verify: async (tenant: string, value: string): Promise<string | null> => {
      const dot = value.lastIndexOf(".")
      if (dot < 0) return null
      const id = value.slice(0, dot)
      const tag = value.slice(dot + 1)
      if (!VISITOR_ID.test(id) || !TAG.test(tag)) return null
      const expected = await tagOf(tenant, id)
      const given = Buffer.from(tag, "base64url")
      return given.length === expected.length && timingSafeEqual(given, expected) ? id : null
    },
  }
}

/** Whether an id is in the visitor namespace. */
export const isVisitorId = (id: string): boolean => id.startsWith(VISITOR_PREFIX)
