/**
 * The wire format: an intent as plain JSON (dates as ISO strings), one message per intent, so
 * services in any language can read the bus.
 *
 * @since 0.1.0
 */
import { Intent } from "@consentkit/core"

const KINDS: ReadonlySet<string> = new Set(Intent.KINDS)

const text = (raw: Record<string, unknown>, field: string): string => {
  const value = raw[field]
  if (typeof value !== "string" || value.length === 0) {
    throw new Error(`not a consentkit intent: "${field}" is missing or not a string`)
  }
  return value
}

const list = <A>(raw: Record<string, unknown>, field: string): ReadonlyArray<A> =>
  Array.isArray(raw[field]) ? (raw[field] as Array<A>) : []

const nullable = <A>(raw: Record<string, unknown>, field: string): A | null =>
  raw[field] === undefined ? null : (raw[field] as A | null)

/** An intent as the bus carries it: plain JSON, dates as ISO strings, so services in any language read it. */
export const encodeIntent = (intent: Intent.Intent): string => JSON.stringify(intent)

/** Reads an intent back into core's shape (`createdAt` a Date); throws on anything that is not one. */
export const decodeIntent = (json: string): Intent.Intent => {
  const raw: unknown = JSON.parse(json)
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("not a consentkit intent: the message is not a JSON object")
  }
  const r = raw as Record<string, unknown>
  const kind = text(r, "kind")
  if (!KINDS.has(kind)) throw new Error(`not a consentkit intent: unknown kind "${kind}"`)
  const createdAt = new Date(text(r, "createdAt"))
  if (Number.isNaN(createdAt.getTime())) throw new Error("not a consentkit intent: createdAt is not a date")
  return {
    id: text(r, "id"),
    tenant: text(r, "tenant"),
    subject: text(r, "subject"),
    kind: kind as Intent.Kind,
    createdAt,
    purpose: nullable(r, "purpose"),
    reason: nullable(r, "reason"),
    categories: list(r, "categories"),
    channels: list(r, "channels"),
    changes: list(r, "changes"),
    aliases: list(r, "aliases"),
    erasureId: nullable(r, "erasureId"),
    pseudonym: nullable(r, "pseudonym"),
    snapshot: nullable(r, "snapshot"),
  }
}
