/**
 * Intents: what a change of consent means downstream. The runtime derives them from the
 * difference between a subject's decisions before and after a command, and the dispatcher
 * delivers each to every adapter subscribed to its kind.
 *
 * @since 0.1.0
 */
import * as Decision from "./Decision.js"
import type { Policy } from "./Policy.js"
import * as State from "./State.js"

/** The kinds of intent. */
export type Kind =
  | "tracking.stop"
  | "tracking.resume"
  | "messaging.suppress"
  | "messaging.resume"
  | "subject.erase"
  | "consent.changed"

/** Every kind, in the order adapters usually subscribe. */
export const KINDS: ReadonlyArray<Kind> = [
  "tracking.stop",
  "tracking.resume",
  "messaging.suppress",
  "messaging.resume",
  "subject.erase",
  "consent.changed",
]

/** One decision that changed, as carried by `consent.changed`. */
export interface Change {
  readonly purpose: string
  readonly allowed: boolean
  readonly reason: Decision.Reason
}

/** An identifier the subject is known by elsewhere (anonymous id, email, phone, LINE user id, ...). */
export interface Alias {
  readonly kind: string
  readonly value: string
}

/** What a change means downstream. */
export interface Intent {
  /** Unique; adapters use it as their idempotency key. */
  readonly id: string
  readonly tenant: string
  readonly subject: string
  readonly kind: Kind
  /**
   * The subject's ledger position after the change (its state's `seq`): orders one subject's
   * intents, so a replayed older intent never overrides a newer one (see `Suppressions`). An
   * erasure starts the subject over; its intent carries the position it erased at.
   */
  readonly seq: number
  readonly createdAt: Date
  /** The purpose that changed (null for erase and for multi-purpose `consent.changed`). */
  readonly purpose: string | null
  readonly reason: Decision.Reason | null
  /** Tracker categories to stop or resume. */
  readonly categories: ReadonlyArray<string>
  /** Messenger channels to suppress or resume. */
  readonly channels: ReadonlyArray<string>
  /** For `consent.changed`: every decision that changed. */
  readonly changes: ReadonlyArray<Change>
  /** For `subject.erase`: the subject's aliases, so each provider can delete by the id it knows. */
  readonly aliases: ReadonlyArray<Alias>
  /** For `subject.erase`: the erasure request and the pseudonym the subject becomes. */
  readonly erasureId: string | null
  readonly pseudonym: string | null
  /** For `consent.changed`: the subject's whole state after the change, so a replica can decide without the store. */
  readonly snapshot: State.StateJson | null
}

/** An intent before it has an id and time. */
export type Draft = Omit<Intent, "id" | "createdAt" | "tenant" | "subject" | "seq">

const blank = {
  purpose: null,
  reason: null,
  categories: [],
  channels: [],
  changes: [],
  aliases: [],
  erasureId: null,
  pseudonym: null,
  snapshot: null,
} as const

/**
 * The intents implied by going from `before` to `after` at `now`: stop/resume per purpose whose
 * decision flipped (with its tracker categories), suppress/resume (with its channels), and one
 * `consent.changed` listing every flip and carrying the new state (whenever the state moved).
 */
export const diff = (
  policy: Policy,
  before: State.SubjectState | undefined,
  after: State.SubjectState,
  now: number,
): Array<Draft> => {
  const drafts: Array<Draft> = []
  const changes: Array<Change> = []
  for (const id of policy.purposeIds) {
    const was = Decision.decide(policy, before, id, now)
    const is = Decision.decide(policy, after, id, now)
    if (was.allowed === is.allowed) continue
    changes.push({ purpose: id, allowed: is.allowed, reason: is.reason })
    const purpose = policy.purposes.get(id)!
    if (purpose.trackerCategories.length > 0) {
      drafts.push({
        ...blank,
        kind: is.allowed ? "tracking.resume" : "tracking.stop",
        purpose: id,
        reason: is.reason,
        categories: purpose.trackerCategories,
      })
    }
    if (purpose.channels.length > 0) {
      drafts.push({
        ...blank,
        kind: is.allowed ? "messaging.resume" : "messaging.suppress",
        purpose: id,
        reason: is.reason,
        channels: purpose.channels,
      })
    }
  }
  // Every change of state goes to the bus (replicas need new versions and expiries too), flips or not.
  if (changes.length > 0 || after.seq !== (before?.seq ?? 0)) {
    drafts.push({ ...blank, kind: "consent.changed", changes, snapshot: State.toJson(after) })
  }
  return drafts
}

/** The erase intent for an erasure request. */
export const eraseDraft = (erasureId: string, pseudonym: string, aliases: ReadonlyArray<Alias>): Draft => ({
  ...blank,
  kind: "subject.erase",
  aliases,
  erasureId,
  pseudonym,
})

/**
 * An intent with the subject's identifiers replaced by its pseudonym: what a store keeps of a
 * delivered intent once the subject is erased (subject, aliases and the state snapshot's subject).
 */
export const scrub = (intent: Intent, pseudonym: string): Intent => ({
  ...intent,
  subject: pseudonym,
  aliases: [],
  snapshot: intent.snapshot ? { ...intent.snapshot, subject: pseudonym } : null,
})

const KIND_SET: ReadonlySet<string> = new Set(KINDS)

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

/** An intent on the wire (buses, webhooks): plain JSON, dates as ISO strings, so services in any language read it. */
export const encode = (intent: Intent): string => JSON.stringify(intent)

/** Reads an intent back into core's shape (`createdAt` a Date); throws on anything that is not one. */
export const decode = (json: string): Intent => {
  const raw: unknown = JSON.parse(json)
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("not a consentkit intent: the message is not a JSON object")
  }
  const r = raw as Record<string, unknown>
  const kind = text(r, "kind")
  if (!KIND_SET.has(kind)) throw new Error(`not a consentkit intent: unknown kind "${kind}"`)
  const createdAt = new Date(text(r, "createdAt"))
  if (Number.isNaN(createdAt.getTime())) throw new Error("not a consentkit intent: createdAt is not a date")
  return {
    id: text(r, "id"),
    tenant: text(r, "tenant"),
    subject: text(r, "subject"),
    kind: kind as Kind,
    // Intents written before 0.2 carry no seq: their snapshot's, else 0 (ordered by time alone).
    seq: typeof r.seq === "number" ? r.seq : (nullable<State.StateJson>(r, "snapshot")?.seq ?? 0),
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
