/**
 * The runtime's public types: its options, the shape of the service and what its operations return.
 *
 * @since 0.2.0
 */
import type { Effect, PubSub } from "effect"
import type { Adapter } from "../Adapter.js"
import type {
  ConsentStoreShape,
  Delivery,
  ErasureRequest,
  OutboxStats,
  RateRow,
  DestroyedKey,
} from "../ConsentStore.js"
import type * as Decision from "../Decision.js"
import type { ConsentRequired, InvalidCommand, NotFound, StoreError } from "../Errors.js"
import type * as Intent from "../Intent.js"
import type * as Ledger from "../Ledger.js"
import type * as Policy from "../Policy.js"
import type * as Receipt from "../Receipt.js"
import type { SignerShape } from "../Signer.js"
import type * as State from "../State.js"

/** How the runtime is configured. */
export interface Options {
  readonly policy: Policy.Policy
  /** Trackers, messengers, buses and CDP adapters that receive intents. */
  readonly adapters?: ReadonlyArray<Adapter>
  /**
   * The kit's secret: pseudonyms of erased subjects, and the keys derived for signing (visitor
   * cookies). At least 32 random bytes, stable, out of the code and the database; an empty, short
   * or well-known value throws `WeakSecret` at construction.
   */
  readonly secret: string
  /** Decision cache: entries live `ttlMs` (default 30 s) and at most `maxSubjects` (default 100,000) are kept. */
  readonly cache?: { readonly ttlMs?: number; readonly maxSubjects?: number }
  /**
   * Signs every command's receipt as a JWS with its events' inclusion proofs and a signed
   * checkpoint (`SignedReceipt`), returned as `signedReceipt`; needs a store that keeps the proof log.
   */
  readonly receiptSigner?: SignerShape
  /**
   * Following the store's change feed (`ConsentStore.changes`), so a change recorded on any
   * instance drops the stale entries of every kit's cache. On by default where the store has a
   * feed; `false` turns it off (a single instance that alone writes its store).
   */
  readonly feed?: FeedOptions | false
}

/** How a kit follows its store's change feed. */
export interface FeedOptions {
  /** How often stores without push (SQLite, MySQL) are polled, and push stores while their push connection is down; default 50 ms. */
  readonly pollMs?: number
  /** Push stores (PostgreSQL NOTIFY): how often the feed is still polled, to catch up and to prove it alive; default 250 ms. */
  readonly idlePollMs?: number
  /**
   * The fail-safe bound: when the feed was not heard from (a poll that succeeded, a live push
   * connection) for longer than this, cached state is not trusted and every lookup reads through
   * to the store; default 1000 ms.
   */
  readonly staleAfterMs?: number
  /** How long a hole in the change sequence (a write still committing) is waited for before it is skipped; default 10 s. */
  readonly gapMs?: number
  /** Feed entries older than this are pruned (by any follower, about once a minute); default 10 minutes. */
  readonly retentionMs?: number
}

/** Whether a kit is following its store's change feed, for health checks and metrics. */
export interface FeedStatus {
  /** False when the store has no feed or the kit was built with `feed: false` (then `up` is false too). */
  readonly following: boolean
  /** Heard from within `staleAfterMs`: cached state is trusted. */
  readonly up: boolean
  /** Push stores: whether the push connection (LISTEN) is live; null on polled stores. */
  readonly push: boolean | null
  /** The position up to which every change was applied. */
  readonly position: number
  /** The newest position seen; `head - position` is how far behind the follower is. */
  readonly head: number
  readonly lastHeardAt: Date | null
  /** Milliseconds since the feed was last heard from; null before the first time. */
  readonly lagMs: number | null
}

/** What `record` (and the commands built on it) returns. */
export interface RecordResult {
  readonly commandId: string
  /** True when an earlier command with the same idempotency key was found: nothing new was written. */
  readonly duplicate: boolean
  readonly events: ReadonlyArray<Ledger.ConsentEvent>
  readonly eventIds: ReadonlyArray<string>
  readonly receipt: Receipt.Receipt | null
  /** The receipt as a JWS (EdDSA) with its proofs, when the kit has a `receiptSigner`; null otherwise or if signing failed. */
  readonly signedReceipt?: string | null
  /** Decisions after the command, for the purposes it touched. */
  readonly decisions: ReadonlyArray<Decision.Decision>
  readonly intents: ReadonlyArray<Intent.Intent>
}

/** What `erase` returns: the proof that erasure was requested, and where to follow it. */
export interface ErasureReceipt {
  readonly erasureId: string
  readonly tenant: string
  readonly pseudonym: string
  readonly requestedAt: Date
  readonly intentId: string
  /** Ledger events kept (pseudonymised) as proof consent was given. */
  readonly eventsKept: number
  readonly chainHead: string | null
  /** Adapters that were asked to erase. */
  readonly adapters: ReadonlyArray<string>
  /** The subject's data key the store destroyed (crypto-shredding), and when; null where the store keeps none. */
  readonly keyDestroyed: DestroyedKey | null
}

/** Erasure progress: each adapter's delivery of the erase intent. */
export interface ErasureStatus {
  readonly request: ErasureRequest
  readonly complete: boolean
  readonly adapters: ReadonlyArray<{
    readonly adapter: string
    readonly status: Delivery["status"]
    readonly attempts: number
    readonly deliveredAt: Date | null
    readonly lastError: string | null
  }>
}

/** Everything held about a subject, as JSON (the right of access). */
export interface SubjectExport {
  readonly tenant: string
  readonly subject: string
  readonly exportedAt: string
  readonly aliases: ReadonlyArray<Intent.Alias>
  readonly state: ReadonlyArray<{
    readonly purpose: string
    /** Present for a standing on one channel of the purpose. */
    readonly channel?: string
    readonly status: State.Status
    readonly noticeVersion: number
    readonly occurredAt: string
    readonly expiresAt: string | null
    readonly source: string
  }>
  readonly decisions: ReadonlyArray<Decision.Decision>
  readonly events: ReadonlyArray<typeof Ledger.ConsentEventJson.Type>
  readonly receipts: ReadonlyArray<Receipt.Receipt>
  readonly chain: Ledger.Verification
}

/** A request the tracker gate checks: a purpose, or a tracker category (every purpose governing it must allow). */
export interface TrackRequest {
  readonly tenant: string
  readonly subject: string
  readonly purpose?: string
  readonly category?: string
}

/** A request the messenger gate checks: a channel, and the purpose of the message (default: every purpose of the channel). */
export interface SendRequest {
  readonly tenant: string
  readonly subject: string
  readonly channel: string
  readonly purpose?: string
}

/** The runtime's operations. */
export interface ConsentKitShape {
  readonly policy: Policy.Policy
  readonly adapters: ReadonlyArray<Adapter>
  readonly store: ConsentStoreShape
  /** Records a command; see `Command.RecordInput`. */
  readonly record: (input: unknown) => Effect.Effect<RecordResult, InvalidCommand | StoreError>
  /** Records a Global Privacy Control signal as an opt-out of the policy's GPC purposes, where it binds. */
  readonly gpc: (input: unknown) => Effect.Effect<RecordResult | null, InvalidCommand | StoreError>
  /**
   * Records an inbound opt-out from a channel (`Command.OptOutInput`): each purpose governing the
   * channel is withdrawn on that channel alone (its other channels stay as they were).
   */
  readonly optOut: (input: unknown) => Effect.Effect<RecordResult | null, InvalidCommand | StoreError>
  /**
   * Reopens a channel the subject closed alone (a LINE re-follow, an SMS START): grants each
   * purpose of the channel on that channel, where it was opted out; never grants a purpose itself.
   */
  readonly optIn: (input: unknown) => Effect.Effect<RecordResult | null, InvalidCommand | StoreError>
  /** Links an alias to a subject and merges the alias's consents (a refusal is never upgraded). */
  readonly link: (input: unknown) => Effect.Effect<RecordResult | null, InvalidCommand | StoreError>
  /** The decision for one purpose now. */
  readonly decide: (
    tenant: string,
    subject: string,
    purpose: string,
    options?: Decision.DecideOptions,
  ) => Effect.Effect<Decision.Decision, StoreError>
  /** The decision from the cache alone, without I/O; undefined on a miss. */
  readonly decideCached: (
    tenant: string,
    subject: string,
    purpose: string,
    now?: number,
  ) => Decision.Decision | undefined
  /** Decisions for every purpose of the policy. */
  readonly decisions: (
    tenant: string,
    subject: string,
  ) => Effect.Effect<ReadonlyArray<Decision.Decision>, StoreError>
  /** The tracker gate: may this event be collected? */
  readonly gateTrack: (request: TrackRequest) => Effect.Effect<Decision.Decision, StoreError>
  /** The messenger gate: may this message be sent? */
  readonly gateSend: (request: SendRequest) => Effect.Effect<Decision.Decision, StoreError>
  /** Like `gateSend`, but fails with `ConsentRequired` when refused. */
  readonly assertSend: (
    request: SendRequest,
  ) => Effect.Effect<Decision.Decision, StoreError | ConsentRequired>
  /** Which subject an alias (e.g. a LINE user id or a phone number) belongs to. */
  readonly resolveAlias: (tenant: string, alias: Intent.Alias) => Effect.Effect<string | null, StoreError>
  /** The current state projection. */
  readonly state: (tenant: string, subject: string) => Effect.Effect<State.SubjectState | null, StoreError>
  /** The subject's ledger, oldest first. */
  readonly history: (
    tenant: string,
    subject: string,
    options?: { readonly purpose?: string },
  ) => Effect.Effect<ReadonlyArray<Ledger.ConsentEvent>, StoreError>
  /** The state as it stood at an instant. */
  readonly stateAt: (
    tenant: string,
    subject: string,
    at: Date,
  ) => Effect.Effect<State.SubjectState | null, StoreError>
  /** Verifies the subject's hash chain against the recorded head. */
  readonly verify: (tenant: string, subject: string) => Effect.Effect<Ledger.Verification, StoreError>
  /** Everything held about a subject. */
  readonly exportSubject: (tenant: string, subject: string) => Effect.Effect<SubjectExport, StoreError>
  /** Erases a subject everywhere: the store now, every adapter through `subject.erase`. */
  readonly erase: (input: unknown) => Effect.Effect<ErasureReceipt, InvalidCommand | StoreError>
  /** Progress of an erasure across adapters. */
  readonly erasureStatus: (
    tenant: string,
    erasureId: string,
  ) => Effect.Effect<ErasureStatus, StoreError | NotFound>
  /** One page of the subjects a purpose is allowed for now (decided in full, not only by the stored status). */
  readonly audiencePage: (options: {
    readonly tenant: string
    readonly purpose: string
    /** Only subjects a message for the purpose may reach on this channel (a LINE unfollow leaves them out of a LINE audience). */
    readonly channel?: string
    readonly after?: string | null
    readonly limit?: number
  }) => Effect.Effect<{ readonly subjects: ReadonlyArray<string>; readonly next: string | null }, StoreError>
  /** Event counts for dashboards. */
  readonly rates: (tenant: string, from: Date, to: Date) => Effect.Effect<ReadonlyArray<RateRow>, StoreError>
  readonly outboxStats: (tenant?: string) => Effect.Effect<OutboxStats, StoreError>
  /** Drops a subject from the cache (a batch that rolled back after the kit cached its writes). */
  readonly invalidate: (tenant: string, subject: string) => void
  /**
   * The kit's change feed: one `Change` per commit, after it committed. The dispatcher wakes on
   * it. It is a feed of wake-ups, bounded and sliding: a subscriber that falls far behind loses
   * the oldest and catches up from the store.
   */
  readonly changes: PubSub.PubSub<Change>
  /**
   * Tells the decision cache a subject changed at `seq` (seen on a delivered intent or another
   * instance's feed): an entry read before it is dropped, the kit's own newer writes stay.
   */
  readonly observe: (change: Change) => void
  /**
   * Follows the store's change feed, forever: `layer` runs it for the kit's lifetime; a kit built
   * with `make` runs it where the caller forks it. Never fails (an outage only makes it stale).
   */
  readonly follow: Effect.Effect<never>
  /** The change feed's health: followed or not, heard from lately, how far behind. */
  readonly feedStatus: () => FeedStatus
  /** A 32-byte key for one use (`label`), derived from the kit's secret with HKDF; labels give independent keys. */
  readonly deriveKey: (label: string) => Effect.Effect<Uint8Array>
}

/** A committed change of one subject's consent, in the order of its ledger. */
export interface Change {
  readonly tenant: string
  readonly subject: string
  /** The subject's ledger position after the change (for an erasure, the position it erased at). */
  readonly seq: number
  readonly kind: "write" | "erase"
}
