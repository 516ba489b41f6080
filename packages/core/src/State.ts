/**
 * State: what the ledger implies now, per subject and purpose. It is a projection: folding a
 * subject's events always gives the same state, and stores keep it only to answer fast.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ActorKind, type ConsentEvent } from "./Ledger.js"

/** The explicit status an event leaves a purpose in. */
export const Status = Schema.Literals(["granted", "denied", "withdrawn"])
/** The explicit status an event leaves a purpose in. */
export type Status = typeof Status.Type

/** A subject's standing on one purpose (or one channel of it), resting on one event. */
export interface PurposeState {
  readonly purpose: string
  /** The one channel of `purpose` this standing is about; absent for the whole purpose. */
  readonly channel?: string
  readonly status: Status
  readonly noticeVersion: number
  readonly occurredAt: Date
  readonly expiresAt: Date | null
  readonly eventId: string
  /** The event's seq, to break ties between events at the same instant. */
  readonly seq: number
  readonly source: string
  readonly actor: ActorKind
  /** A guardian's grant stands (recorded and not since refused or withdrawn). */
  readonly guardianGranted: boolean
}

/** Everything the ledger implies about one subject now. */
export interface SubjectState {
  readonly tenant: string
  readonly subject: string
  /** Jurisdiction of the newest event; null before any. */
  readonly jurisdiction: string | null
  /** Age from the newest event that gave one. */
  readonly age: number | null
  /** Keyed by `keyOf(purpose, channel)`: the purpose id, or `purpose#channel` for one channel of it. */
  readonly purposes: ReadonlyMap<string, PurposeState>
  /** The chain head: seq and hash of the last appended event. */
  readonly seq: number
  readonly head: string | null
}

/**
 * The key a standing is kept under: the purpose id, or `purpose#channel` for a decision on one
 * channel of it (purpose ids cannot hold `#`, so the two never collide).
 */
export const keyOf = (purpose: string, channel?: string): string =>
  channel === undefined ? purpose : `${purpose}#${channel}`

/** The purpose and channel a key names (the inverse of `keyOf`). */
export const parseKey = (key: string): { readonly purpose: string; readonly channel?: string } => {
  const at = key.indexOf("#")
  return at < 0 ? { purpose: key } : { purpose: key.slice(0, at), channel: key.slice(at + 1) }
}

/** The key of a standing. */
export const keyOfState = (p: PurposeState): string => keyOf(p.purpose, p.channel)

/** The standings on whole purposes (without the channel-level ones). */
export const wholePurposes = (state: SubjectState): Array<PurposeState> =>
  [...state.purposes.values()].filter((p) => p.channel === undefined)

const statusOf = (event: ConsentEvent): Status =>
  event.action === "grant" ? "granted" : event.action === "deny" ? "denied" : "withdrawn"

/** An empty state for a subject with no events. */
export const empty = (tenant: string, subject: string): SubjectState => ({
  tenant,
  subject,
  jurisdiction: null,
  age: null,
  purposes: new Map(),
  seq: 0,
  head: null,
})

/** Whole seconds: the precision of sources such as SendGrid's event webhook. */
const isWholeSecond = (ms: number): boolean => ms % 1000 === 0

const isOptOut = (status: Status): boolean => status !== "granted"

/**
 * Whether an event supersedes the current standing: the later time wins, then the later seq (the
 * ledger's order). Between two sources of which one may know only whole seconds (SendGrid's event
 * webhook stamps seconds), times are compared at that coarser precision, and on a tie there an
 * opt-out wins over a grant: arrival order says nothing about which act came first.
 */
const isNewer = (event: ConsentEvent, current: PurposeState): boolean => {
  const t = event.occurredAt.getTime()
  const c = current.occurredAt.getTime()
  if (event.source !== current.source && (isWholeSecond(t) || isWholeSecond(c))) {
    const ts = Math.floor(t / 1000)
    const cs = Math.floor(c / 1000)
    if (ts !== cs) return ts > cs
    const incoming = isOptOut(statusOf(event))
    if (incoming !== isOptOut(current.status)) return incoming
  }
  return t > c || (t === c && event.seq > current.seq)
}

/**
 * Applies one event. The newest event by the time the subject acted wins, so a late-recorded
 * event from an offline store does not override a later decision; between two sources of
 * which one knows only seconds, a tie within that second goes to an opt-out over a grant.
 */
export const apply = (state: SubjectState, event: ConsentEvent): SubjectState => {
  const key = keyOf(event.purpose, event.channel)
  const current = state.purposes.get(key)
  const purposes = new Map(state.purposes)
  if (!current || isNewer(event, current)) {
    const guardianGranted =
      event.actor.kind === "guardian"
        ? event.action === "grant"
        : event.action === "grant"
          ? (current?.guardianGranted ?? false)
          : false
    purposes.set(key, {
      purpose: event.purpose,
      ...(event.channel !== undefined ? { channel: event.channel } : {}),
      status: statusOf(event),
      noticeVersion: event.noticeVersion,
      occurredAt: event.occurredAt,
      expiresAt: event.expiresAt,
      eventId: event.id,
      seq: event.seq,
      source: event.source,
      actor: event.actor.kind,
      guardianGranted,
    })
  }
  return {
    tenant: state.tenant,
    subject: state.subject,
    jurisdiction: event.jurisdiction,
    age: event.subjectAge ?? state.age,
    purposes,
    seq: Math.max(state.seq, event.seq),
    head: event.seq >= state.seq ? event.hash : state.head,
  }
}

/** Folds a subject's events (in seq order) into its state. */
export const fold = (tenant: string, subject: string, events: ReadonlyArray<ConsentEvent>): SubjectState => {
  let state = empty(tenant, subject)
  for (const event of events) state = apply(state, event)
  return state
}

/**
 * The state as it stood at an instant: the subject's decisions made by then (by when the subject
 * acted, so a decision recorded late, e.g. imported, counts from when it was made).
 */
export const at = (
  tenant: string,
  subject: string,
  events: ReadonlyArray<ConsentEvent>,
  instant: Date,
): SubjectState => {
  const t = instant.getTime()
  return fold(
    tenant,
    subject,
    events.filter((e) => e.occurredAt.getTime() <= t),
  )
}

/** Two states mean the same (used by tests and conformance suites: store state == fold of ledger). */
export const equivalent = (a: SubjectState, b: SubjectState): boolean => {
  if (a.purposes.size !== b.purposes.size || a.seq !== b.seq || a.head !== b.head) return false
  for (const [purpose, x] of a.purposes) {
    const y = b.purposes.get(purpose)
    if (
      !y ||
      x.channel !== y.channel ||
      x.status !== y.status ||
      x.eventId !== y.eventId ||
      x.noticeVersion !== y.noticeVersion ||
      x.occurredAt.getTime() !== y.occurredAt.getTime() ||
      (x.expiresAt?.getTime() ?? null) !== (y.expiresAt?.getTime() ?? null) ||
      x.guardianGranted !== y.guardianGranted
    ) {
      return false
    }
  }
  return true
}

/** A subject's state as plain JSON (ISO dates), as carried by `consent.changed` and kept by replicas. */
export const StateJson = Schema.Struct({
  tenant: Schema.String,
  subject: Schema.String,
  jurisdiction: Schema.NullOr(Schema.String),
  age: Schema.NullOr(Schema.Number),
  seq: Schema.Number,
  head: Schema.NullOr(Schema.String),
  purposes: Schema.Array(
    Schema.Struct({
      purpose: Schema.String,
      channel: Schema.optionalKey(Schema.String),
      status: Status,
      noticeVersion: Schema.Number,
      occurredAt: Schema.String,
      expiresAt: Schema.NullOr(Schema.String),
      eventId: Schema.String,
      seq: Schema.Number,
      source: Schema.String,
      actor: ActorKind,
      guardianGranted: Schema.Boolean,
    }),
  ),
})
/** A subject's state as plain JSON. */
export type StateJson = typeof StateJson.Type

/** A state as plain JSON. */
export const toJson = (state: SubjectState): StateJson => ({
  tenant: state.tenant,
  subject: state.subject,
  jurisdiction: state.jurisdiction,
  age: state.age,
  seq: state.seq,
  head: state.head,
  purposes: [...state.purposes.values()].map((p) => ({
    ...p,
    occurredAt: p.occurredAt.toISOString(),
    expiresAt: p.expiresAt ? p.expiresAt.toISOString() : null,
  })),
})

/** A state from plain JSON. */
export const fromJson = (json: StateJson): SubjectState => ({
  tenant: json.tenant,
  subject: json.subject,
  jurisdiction: json.jurisdiction,
  age: json.age,
  seq: json.seq,
  head: json.head,
  purposes: new Map(
    json.purposes.map((p) => [
      keyOf(p.purpose, p.channel),
      { ...p, occurredAt: new Date(p.occurredAt), expiresAt: p.expiresAt ? new Date(p.expiresAt) : null },
    ]),
  ),
})
