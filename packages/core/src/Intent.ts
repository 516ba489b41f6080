/**
 * Intents: what a change of consent means downstream. The runtime derives them from the
 * difference between a subject's decisions before and after a command, and the dispatcher
 * delivers each to every adapter subscribed to its kind.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Decision from "./Decision.js"
import type { Policy } from "./Policy.js"
import * as State from "./State.js"

/** Every kind, in the order adapters usually subscribe. */
export const KINDS = [
  "tracking.stop",
  "tracking.resume",
  "messaging.suppress",
  "messaging.resume",
  "subject.erase",
  "consent.changed",
] as const

/** The kinds of intent. */
export const Kind = Schema.Literals(KINDS)
/** The kinds of intent. */
export type Kind = typeof Kind.Type

/** One decision that changed, as carried by `consent.changed`. */
export const Change = Schema.Struct({
  purpose: Schema.String,
  /** For a change on one channel of the purpose only. */
  channel: Schema.optionalKey(Schema.String),
  allowed: Schema.Boolean,
  reason: Decision.Reason,
})
/** One decision that changed, as carried by `consent.changed`. */
export type Change = typeof Change.Type

/** An identifier the subject is known by elsewhere (anonymous id, email, phone, LINE user id, ...). */
export const Alias = Schema.Struct({ kind: Schema.String, value: Schema.String })
/** An identifier the subject is known by elsewhere. */
export type Alias = typeof Alias.Type

const fields = {
  /** Unique; adapters use it as their idempotency key. */
  id: Schema.NonEmptyString,
  tenant: Schema.NonEmptyString,
  subject: Schema.NonEmptyString,
  kind: Kind,
  /**
   * The subject's ledger position after the change (its state's `seq`): orders one subject's
   * intents, so a replayed older intent never overrides a newer one (see `Suppressions`). An
   * erasure starts the subject over; its intent carries the position it erased at.
   */
  seq: Schema.Number,
  createdAt: Schema.Date,
  /** The purpose that changed (null for erase and for multi-purpose `consent.changed`). */
  purpose: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Decision.Reason),
  /** Tracker categories to stop or resume. */
  categories: Schema.Array(Schema.String),
  /** Messenger channels to suppress or resume. */
  channels: Schema.Array(Schema.String),
  /**
   * Present when only one channel of `purpose` changed (a LINE unfollow): `channels` is that one
   * channel, and the purpose stays as it was on its other channels.
   */
  channel: Schema.optionalKey(Schema.String),
  /**
   * For stop / resume / suppress: the reason of the decision before the change. A resume from
   * `no_consent` (a first grant) follows no suppression, so a provider has nothing to lift.
   */
  previous: Schema.optionalKey(Decision.Reason),
  /** For `consent.changed`: every decision that changed. */
  changes: Schema.Array(Change),
  /** For `subject.erase`: the subject's aliases, so each provider can delete by the id it knows. */
  aliases: Schema.Array(Alias),
  /** For `subject.erase`: the erasure request and the pseudonym the subject becomes. */
  erasureId: Schema.NullOr(Schema.String),
  pseudonym: Schema.NullOr(Schema.String),
  /** For `consent.changed`: the subject's whole state after the change, so a replica can decide without the store. */
  snapshot: Schema.NullOr(State.StateJson),
}

/** What a change means downstream. */
export const Intent = Schema.Struct(fields)
/** What a change means downstream. */
export type Intent = typeof Intent.Type

/**
 * An intent on the wire: plain JSON with `createdAt` as an ISO string. `seq` may be absent
 * (intents written before 0.2): the snapshot's is taken, else 0.
 */
export const IntentJson = Schema.Struct({
  ...fields,
  seq: Schema.optionalKey(Schema.Number),
  createdAt: Schema.DateFromString,
})

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
  // Channel-level flips of purposes that stayed allowed as a whole, after every whole-purpose flip.
  const channelDrafts: Array<Draft> = []
  const channelChanges: Array<Change> = []
  const channelDraft = (
    kind: "messaging.suppress" | "messaging.resume",
    purpose: string,
    reason: Decision.Reason,
    previous: Decision.Reason,
    channel: string,
  ): Draft => ({ ...blank, kind, purpose, reason, previous, channels: [channel], channel })
  for (const id of policy.purposeIds) {
    const purpose = policy.purposes.get(id)!
    const was = Decision.decide(policy, before, id, now)
    const is = Decision.decide(policy, after, id, now)
    if (was.allowed === is.allowed) {
      // One channel of a purpose that stayed allowed: suppress or resume that channel alone.
      if (!is.allowed) continue
      for (const channel of purpose.channels) {
        const wasOn = Decision.decide(policy, before, id, now, { channel })
        const isOn = Decision.decide(policy, after, id, now, { channel })
        if (wasOn.allowed === isOn.allowed) continue
        channelChanges.push({ purpose: id, channel, allowed: isOn.allowed, reason: isOn.reason })
        channelDrafts.push(
          channelDraft(
            isOn.allowed ? "messaging.resume" : "messaging.suppress",
            id,
            isOn.reason,
            wasOn.reason,
            channel,
          ),
        )
      }
      continue
    }
    changes.push({ purpose: id, allowed: is.allowed, reason: is.reason })
    if (purpose.trackerCategories.length > 0) {
      drafts.push({
        ...blank,
        kind: is.allowed ? "tracking.resume" : "tracking.stop",
        purpose: id,
        reason: is.reason,
        previous: was.reason,
        categories: purpose.trackerCategories,
      })
    }
    if (purpose.channels.length > 0) {
      // A purpose granted again stays closed on a channel the subject opted out of alone.
      const closed = is.allowed
        ? purpose.channels.filter((channel) => !Decision.decide(policy, after, id, now, { channel }).allowed)
        : []
      const open = purpose.channels.filter((channel) => !closed.includes(channel))
      if (open.length > 0) {
        drafts.push({
          ...blank,
          kind: is.allowed ? "messaging.resume" : "messaging.suppress",
          purpose: id,
          reason: is.reason,
          previous: was.reason,
          channels: open,
        })
      }
      for (const channel of closed)
        drafts.push(channelDraft("messaging.suppress", id, "channel_withdrawn", was.reason, channel))
    }
  }
  drafts.push(...channelDrafts)
  changes.push(...channelChanges)
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

/** An intent on the wire (buses, webhooks): plain JSON, dates as ISO strings, so services in any language read it. */
export const encode = (intent: Intent): string => JSON.stringify(intent)

const decodeJson = Schema.decodeUnknownSync(Schema.fromJsonString(IntentJson))

/** Reads an intent back into core's shape (`createdAt` a Date); throws on anything that is not one. */
export const decode = (json: string): Intent => {
  let wire: typeof IntentJson.Type
  try {
    wire = decodeJson(json)
  } catch (cause) {
    throw new Error(`not a consentkit intent: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    })
  }
  if (Number.isNaN(wire.createdAt.getTime()))
    throw new Error("not a consentkit intent: createdAt is not a date")
  return { ...wire, seq: wire.seq ?? wire.snapshot?.seq ?? 0 }
}
