/**
 * The consent ledger: append-only events, each chained to the subject's previous event by a
 * SHA-256 hash over a canonical encoding, so any change, removal, insertion or reordering is
 * detectable and pinpointed by `verify`.
 *
 * Personal fields (subject id, actor id, evidence) enter the chain through a salted digest, so
 * erasure can strip them and the chain still verifies: what remains is a pseudonymous proof.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { canonicalJson } from "./internal/canonical.js"
import { sha256Hex } from "./internal/crypto.js"

/** What the subject did. */
export const Action = Schema.Literals(["grant", "deny", "withdraw"])
/** What the subject did: grant, deny (refuse when asked) or withdraw (take back a grant). */
export type Action = typeof Action.Type

/** Who acted: the subject, a guardian for a minor, or an operator (e.g. a call-centre agent). */
export const ActorKind = Schema.Literals(["subject", "guardian", "operator"])
/** Who acted. */
export type ActorKind = typeof ActorKind.Type

/** The actor of an event. */
export const Actor = Schema.Struct({
  kind: ActorKind,
  id: Schema.optional(Schema.String),
})
/** The actor of an event. */
export type Actor = typeof Actor.Type

/** What proves the decision: notice hash, locale, user agent, hashed IP and free metadata. */
export const Evidence = Schema.Struct({
  noticeHash: Schema.optional(Schema.String),
  locale: Schema.optional(Schema.String),
  userAgent: Schema.optional(Schema.String),
  ipHash: Schema.optional(Schema.String),
  metadata: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
})
/** What proves the decision. */
export type Evidence = typeof Evidence.Type

/** One ledger entry. Stores persist every field and return them unchanged. */
export interface ConsentEvent {
  readonly id: string
  readonly tenant: string
  /** The subject id; after erasure, the subject's pseudonym. */
  readonly subject: string
  /** 1, 2, 3, ... per subject, in the order the store appended them. */
  readonly seq: number
  readonly purpose: string
  /**
   * The one messenger channel of `purpose` this event is about (a LINE unfollow withdraws
   * `marketing` on `line` only); absent for a decision on the whole purpose.
   */
  readonly channel?: string
  readonly action: Action
  readonly noticeVersion: number
  /** When the subject acted. */
  readonly occurredAt: Date
  /** When the ledger recorded it. */
  readonly recordedAt: Date
  /** The collection point: `banner`, `preference-center`, `form`, `pos`, `unsubscribe-link`, `gpc`, `sms`, `import`, `link`, ... */
  readonly source: string
  readonly actor: Actor
  readonly evidence: Evidence
  readonly jurisdiction: string
  /** The subject's age when known (guardian rules). */
  readonly subjectAge: number | null
  /** When a grant lapses (its purpose's lifetime); null for refusals and unlimited grants. */
  readonly expiresAt: Date | null
  /** The command that recorded it (several events can share one). */
  readonly commandId: string
  /** Random salt of the personal digest; emptied by erasure. */
  readonly salt: string
  /** SHA-256 over subject, actor id, evidence and salt. */
  readonly personalDigest: string
  readonly prevHash: string | null
  readonly hash: string
  /** Personal fields were removed by erasure. */
  readonly erased: boolean
}

/** Schema of a stored event as JSON (dates as ISO strings), for exports and stores that keep JSON. */
export const ConsentEventJson = Schema.Struct({
  id: Schema.String,
  tenant: Schema.String,
  subject: Schema.String,
  seq: Schema.Number,
  purpose: Schema.String,
  channel: Schema.optionalKey(Schema.String),
  action: Action,
  noticeVersion: Schema.Number,
  occurredAt: Schema.String,
  recordedAt: Schema.String,
  source: Schema.String,
  actor: Actor,
  evidence: Evidence,
  jurisdiction: Schema.String,
  subjectAge: Schema.NullOr(Schema.Number),
  expiresAt: Schema.NullOr(Schema.String),
  commandId: Schema.String,
  salt: Schema.String,
  personalDigest: Schema.String,
  prevHash: Schema.NullOr(Schema.String),
  hash: Schema.String,
  erased: Schema.Boolean,
})

/** An event as plain JSON (ISO dates). */
export const toJson = (event: ConsentEvent): typeof ConsentEventJson.Type => ({
  ...event,
  occurredAt: event.occurredAt.toISOString(),
  recordedAt: event.recordedAt.toISOString(),
  expiresAt: event.expiresAt ? event.expiresAt.toISOString() : null,
})

/** An event from plain JSON. */
export const fromJson = (json: typeof ConsentEventJson.Type): ConsentEvent => ({
  ...json,
  occurredAt: new Date(json.occurredAt),
  recordedAt: new Date(json.recordedAt),
  expiresAt: json.expiresAt ? new Date(json.expiresAt) : null,
})

/** The digest of an event's personal fields. */
export const personalDigest = (fields: {
  readonly subject: string
  readonly actorId: string | undefined
  readonly evidence: Evidence
  readonly salt: string
}): Promise<string> =>
  sha256Hex(
    canonicalJson({ s: fields.subject, a: fields.actorId ?? null, e: fields.evidence, n: fields.salt }),
  )

/**
 * The canonical bytes an event's hash covers (everything but the hash, personal fields by digest).
 * `channel` enters only when present, so chains recorded before channels existed still verify.
 */
export const canonicalBody = (event: Omit<ConsentEvent, "hash" | "erased">, digest: string): string =>
  canonicalJson({
    v: 1,
    id: event.id,
    tenant: event.tenant,
    seq: event.seq,
    purpose: event.purpose,
    ...(event.channel !== undefined ? { channel: event.channel } : {}),
    action: event.action,
    noticeVersion: event.noticeVersion,
    occurredAt: event.occurredAt,
    recordedAt: event.recordedAt,
    source: event.source,
    actor: event.actor.kind,
    jurisdiction: event.jurisdiction,
    subjectAge: event.subjectAge,
    expiresAt: event.expiresAt,
    commandId: event.commandId,
    personal: digest,
    prev: event.prevHash,
  })

/** An event before its chain fields are filled in. */
export type UnsealedEvent = Omit<ConsentEvent, "seq" | "prevHash" | "hash" | "personalDigest" | "erased">

// SHA-256 is asynchronous in WebCrypto (the browser and edge fallback): the one Promise boundary.
const sha256 = (text: string) => Effect.promise(() => sha256Hex(text))
const digestOf = (event: UnsealedEvent | ConsentEvent) =>
  Effect.promise(() =>
    personalDigest({
      subject: event.subject,
      actorId: event.actor.id,
      evidence: event.evidence,
      salt: event.salt,
    }),
  )

/** Seals events onto a subject's chain: assigns seq, the personal digest, prevHash and hash. */
export const seal = (
  head: { readonly seq: number; readonly hash: string | null },
  events: ReadonlyArray<UnsealedEvent>,
): Effect.Effect<Array<ConsentEvent>> =>
  Effect.gen(function* () {
    const out: Array<ConsentEvent> = []
    let seq = head.seq
    let prev = head.hash
    for (const event of events) {
      seq += 1
      const digest = yield* digestOf(event)
      const body = { ...event, seq, prevHash: prev, personalDigest: digest }
      const hash = yield* sha256(canonicalBody(body, digest))
      out.push({ ...body, hash, erased: false })
      prev = hash
    }
    return out
  })

// Stand-ins for the chain fields while an event's canonical body is encoded ahead of its place on
// the chain. The body is a flat object of strings, numbers and nulls, so an unescaped `,"prev":`
// or `,"seq":` can only be its own key: a value cannot forge one.
const SEQ_SLOT = ',"seq":-1.5'
const PREV_SLOT = `,"prev":${JSON.stringify("\u0000prev")}`

/** An event whose personal digest and canonical body are computed, waiting for its seq and previous hash. */
export interface PreparedEvent {
  readonly event: UnsealedEvent
  readonly digest: string
  /** The canonical body (as `canonicalBody`) once the chain fields are known. */
  readonly body: (seq: number, prev: string | null) => string
}

const bodyTemplate = (event: UnsealedEvent, digest: string): PreparedEvent["body"] => {
  const template = canonicalBody(
    { ...event, seq: -1.5, prevHash: "\u0000prev", personalDigest: digest },
    digest,
  )
  const s = template.indexOf(SEQ_SLOT)
  const p = template.indexOf(PREV_SLOT)
  if (s < 0 || p < 0 || s < p) {
    // Not the shape expected (the keys sort prev before seq): encode in full once the fields are known.
    return (seq, prev) => canonicalBody({ ...event, seq, prevHash: prev, personalDigest: digest }, digest)
  }
  const head = template.slice(0, p)
  const middle = template.slice(p + PREV_SLOT.length, s)
  const tail = template.slice(s + SEQ_SLOT.length)
  return (seq, prev) =>
    `${head},"prev":${prev === null ? "null" : JSON.stringify(prev)}${middle},"seq":${JSON.stringify(seq)}${tail}`
}

/**
 * The part of sealing that does not depend on the chain: the personal digest and the canonical
 * encoding. A writer runs it before taking the subject's lock, so only `sealPrepared` (one
 * SHA-256 per event) runs while the lock is held.
 */
export const prepare = (events: ReadonlyArray<UnsealedEvent>): Effect.Effect<Array<PreparedEvent>> =>
  Effect.forEach(events, (event) =>
    Effect.map(digestOf(event), (digest) => ({ event, digest, body: bodyTemplate(event, digest) })),
  )

/** `seal` of prepared events: the same events, seq, digests and hashes as `seal` of their unsealed form. */
export const sealPrepared = (
  head: { readonly seq: number; readonly hash: string | null },
  events: ReadonlyArray<PreparedEvent>,
): Effect.Effect<Array<ConsentEvent>> =>
  Effect.gen(function* () {
    const out: Array<ConsentEvent> = []
    let seq = head.seq
    let prev = head.hash
    for (const { event, digest, body } of events) {
      seq += 1
      const hash = yield* sha256(body(seq, prev))
      out.push({ ...event, seq, prevHash: prev, personalDigest: digest, hash, erased: false })
      prev = hash
    }
    return out
  })

/** The form an erased event takes: subject replaced by its pseudonym, personal fields removed. */
export const erase = (event: ConsentEvent, pseudonym: string): ConsentEvent => ({
  ...event,
  subject: pseudonym,
  actor: { kind: event.actor.kind },
  evidence: {},
  salt: "",
  erased: true,
})

/** Where and how a chain is broken. */
export interface ChainProblem {
  readonly kind: "changed" | "removed" | "inserted" | "reordered"
  /** The event at which the problem shows (for `removed`, the event after the gap). */
  readonly eventId: string
  readonly seq: number
  readonly message: string
}

/** The result of verifying a subject's chain. */
export type Verification =
  | { readonly ok: true; readonly count: number; readonly head: string | null }
  | { readonly ok: false; readonly count: number; readonly problem: ChainProblem }

const recomputeHash = (event: ConsentEvent) =>
  Effect.gen(function* () {
    // An erased event keeps its stored digest: the personal fields it was computed over are gone.
    const digest = event.erased ? event.personalDigest : yield* digestOf(event)
    return { hash: yield* sha256(canonicalBody(event, digest)), digestOk: digest === event.personalDigest }
  })

/**
 * Verifies one subject's chain, in the order the store returns it (by seq). Links are checked
 * before contents, so a swapped pair reads as `reordered` and a missing event as `removed`.
 */
export const verify = (
  events: ReadonlyArray<ConsentEvent>,
  /** The head hash the store's state holds; catches removal of the newest events. */
  expectedHead?: string | null,
): Effect.Effect<Verification> =>
  Effect.gen(function* () {
    const positionOf = new Map<string, number>()
    events.forEach((e, i) => {
      positionOf.set(e.hash, i)
    })
    let prevHash: string | null = null
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!
      if (event.prevHash !== prevHash) {
        const at = event.prevHash === null ? -1 : (positionOf.get(event.prevHash) ?? -2)
        const problem: ChainProblem =
          at > i
            ? {
                kind: "reordered",
                eventId: event.id,
                seq: event.seq,
                message: `event ${event.id} (seq ${event.seq}) is out of order: its predecessor comes after it`,
              }
            : at >= 0 && at < i - 1
              ? {
                  kind: "inserted",
                  eventId: events[i - 1]!.id,
                  seq: events[i - 1]!.seq,
                  message: `event ${events[i - 1]!.id} (seq ${events[i - 1]!.seq}) was inserted into the chain`,
                }
              : at === -1 && i > 0
                ? {
                    kind: "inserted",
                    eventId: event.id,
                    seq: event.seq,
                    message: `event ${event.id} (seq ${event.seq}) starts a second chain`,
                  }
                : {
                    kind: "removed",
                    eventId: event.id,
                    seq: event.seq,
                    message: `an event before ${event.id} (seq ${event.seq}) was removed`,
                  }
        return { ok: false, count: events.length, problem }
      }
      const { hash, digestOk } = yield* recomputeHash(event)
      if (hash !== event.hash || !digestOk) {
        return {
          ok: false,
          count: events.length,
          problem: {
            kind: "changed",
            eventId: event.id,
            seq: event.seq,
            message: `event ${event.id} (seq ${event.seq}) was changed after it was recorded`,
          },
        }
      }
      prevHash = event.hash
    }
    if (expectedHead !== undefined && expectedHead !== prevHash) {
      const last = events[events.length - 1]
      return {
        ok: false,
        count: events.length,
        problem: {
          kind: "removed",
          eventId: last?.id ?? "",
          seq: (last?.seq ?? 0) + 1,
          message: `the newest event(s) after seq ${last?.seq ?? 0} were removed: the chain ends before the recorded head`,
        },
      }
    }
    return { ok: true, count: events.length, head: prevHash }
  })

/** `seal` as a Promise, for code outside Effect. */
export const sealPromise = (
  head: { readonly seq: number; readonly hash: string | null },
  events: ReadonlyArray<UnsealedEvent>,
): Promise<Array<ConsentEvent>> => Effect.runPromise(seal(head, events))

/** `verify` as a Promise, for code outside Effect. */
export const verifyPromise = (
  events: ReadonlyArray<ConsentEvent>,
  expectedHead?: string | null,
): Promise<Verification> => Effect.runPromise(verify(events, expectedHead))
