/**
 * The store port: where the ledger, the state projection, the outbox of intents, aliases,
 * idempotency keys and erasure requests live. Core decides everything; a store only keeps
 * rows durable and transactional. Every store passes `@consentkit/core/testing`'s
 * `storeConformance`.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Scope } from "effect"
import type { StoreError } from "./Errors.js"
import type { Alias, Intent } from "./Intent.js"
import type { ConsentEvent } from "./Ledger.js"
import type { CompactRange, CompletedNode, NodeId } from "./MerkleLog.js"
import type { Receipt } from "./Receipt.js"
import type { SubjectState } from "./State.js"

/** What a store can do, as data: core picks its paths from these, never from `instanceof`. */
export interface StoreCapabilities {
  /** A short name for logs (`memory`, `sqlite`, `postgres`, `mysql`). */
  readonly name: string
  /** Outbox claims use `FOR UPDATE SKIP LOCKED`, so many dispatchers share one outbox without waiting. */
  readonly supportsSkipLocked: boolean
  /** The store can wake dispatchers when work arrives (`waitForWork`). */
  readonly supportsListenNotify: boolean
  readonly supportsReturning: boolean
  /** Several processes can use the store at once. */
  readonly multiProcess: boolean
}

/** A command already recorded under an idempotency key, with what it returned. */
export interface StoredCommand {
  readonly tenant: string
  readonly key: string
  readonly subject: string
  readonly commandId: string
  readonly recordedAt: Date
  readonly eventIds: ReadonlyArray<string>
  readonly receipt: Receipt | null
}

/** A new outbox row: one intent for one adapter. */
export interface NewDelivery {
  readonly intent: Intent
  readonly adapter: string
}

/** The state of an outbox row. */
export type DeliveryStatus = "pending" | "delivered" | "dead"

/** An outbox row. `id` orders rows: per subject and adapter, a lower id is delivered first. */
export interface Delivery {
  readonly id: string
  readonly intent: Intent
  readonly adapter: string
  readonly status: DeliveryStatus
  readonly attempts: number
  /** Not claimable before this instant (backoff). */
  readonly availableAt: Date
  readonly lastError: string | null
  readonly createdAt: Date
  readonly deliveredAt: Date | null
}

/** Everything a store must do inside one subject's transaction. */
export interface SubjectTransaction {
  /** The subject's current state (null before any event), read under the subject's lock. */
  readonly state: Effect.Effect<SubjectState | null, StoreError>
  /** The command recorded under an idempotency key, if any. */
  readonly findCommand: (key: string) => Effect.Effect<StoredCommand | null, StoreError>
  /** Appends sealed events (seq continues the chain). */
  readonly append: (events: ReadonlyArray<ConsentEvent>) => Effect.Effect<void, StoreError>
  /** Replaces the subject's state projection. */
  readonly saveState: (state: SubjectState) => Effect.Effect<void, StoreError>
  /** Enqueues outbox rows. */
  readonly enqueue: (deliveries: ReadonlyArray<NewDelivery>) => Effect.Effect<void, StoreError>
  /** Keeps a command's idempotency key and result. */
  readonly saveCommand: (command: StoredCommand) => Effect.Effect<void, StoreError>
  /** Links an alias to this subject (replacing an earlier link of the same alias). */
  readonly addAlias: (alias: Alias) => Effect.Effect<void, StoreError>
  /** The subject's aliases. */
  readonly aliases: Effect.Effect<ReadonlyArray<Alias>, StoreError>
  /** All the subject's events in seq order. */
  readonly events: Effect.Effect<ReadonlyArray<ConsentEvent>, StoreError>
  /**
   * Erases the subject: ledger rows take the pseudonym and lose personal fields (as
   * `Ledger.erase` shapes them), state, aliases, idempotency keys and receipts are deleted,
   * delivered outbox rows are scrubbed, and the erasure request is kept by pseudonym.
   */
  readonly erase: (
    request: ErasureRequest,
    erased: ReadonlyArray<ConsentEvent>,
    // biome-ignore lint/suspicious/noConfusingVoidType: stores written before crypto-shredding return nothing
  ) => Effect.Effect<ErasureOutcome | void, StoreError>
  /** Present on stores that keep the Merkle log. */
  readonly log?: LogTransaction
}

/** One entry of a tenant's Merkle log, as stored. */
export interface LogEntry {
  /** The leaf index: the tenant's commit order, 0, 1, 2, ... */
  readonly index: number
  readonly kind: "event" | "erasure"
  /** The event id, or the erasure request id. */
  readonly ref: string
  /** The canonical entry text the leaf hashes. */
  readonly entry: string
  /** Its leaf hash, lowercase hex. */
  readonly leafHash: string
}

/** What one append writes to the log: the entries, the perfect nodes they completed, the new range. */
export interface LogAppend {
  readonly entries: ReadonlyArray<LogEntry>
  /** Completed perfect nodes above the leaves (level >= 1). */
  readonly nodes: ReadonlyArray<CompletedNode>
  readonly range: CompactRange
}

/** The log part of a subject transaction, on stores that keep the Merkle log. */
export interface LogTransaction {
  /**
   * Appends to the tenant's log under the tenant's log lock: `build` gets the current compact
   * range and returns what to write (core computes it; the store only keeps rows).
   */
  readonly appendLog: (build: (range: CompactRange) => LogAppend) => Effect.Effect<void, StoreError>
}

/** Reads of a tenant's Merkle log, for checkpoints and proofs. */
export interface LogReads {
  /** The tenant's compact range (size 0 before the first entry). */
  readonly logRange: (tenant: string) => Effect.Effect<CompactRange, StoreError>
  /** Entries with index in [from, to), in index order. */
  readonly logEntries: (
    tenant: string,
    from: number,
    to: number,
  ) => Effect.Effect<ReadonlyArray<LogEntry>, StoreError>
  /** The log entries of events (or erasures) by their ids; an id not in the log is absent. */
  readonly logEntriesOf: (
    tenant: string,
    refs: ReadonlyArray<string>,
  ) => Effect.Effect<ReadonlyArray<LogEntry>, StoreError>
  /** Perfect-node hashes (level 0 are leaf hashes); a node the store lacks is missing from the map. */
  readonly logNodes: (
    tenant: string,
    ids: ReadonlyArray<NodeId>,
  ) => Effect.Effect<ReadonlyMap<string, Uint8Array>, StoreError>
  /** Every event row of the tenant (erased ones too), in insertion order. */
  readonly tenantEvents: (tenant: string) => Effect.Effect<ReadonlyArray<ConsentEvent>, StoreError>
}

/** A destroyed data key (crypto-shredding): which, and when. */
export interface DestroyedKey {
  readonly id: string
  readonly at: Date
}

/** What a store's erasure did beyond the rows: the data key it destroyed, if it keeps keys. */
export interface ErasureOutcome {
  readonly destroyedKey: DestroyedKey | null
}

/** Proof that an erasure was requested and done, kept by pseudonym only. */
export interface ErasureRequest {
  readonly id: string
  readonly tenant: string
  readonly pseudonym: string
  readonly requestedAt: Date
  /** Who asked, as `Erasure.requestedByDigest` keeps it (no personal data). */
  readonly requestedBy: string | null
  /** The `subject.erase` intent whose deliveries track each adapter's completion. */
  readonly intentId: string
  /** The subject's data key the erasure destroyed (stores that encrypt personal fields). */
  readonly destroyedKey?: DestroyedKey | null
}

/** What `claim` takes. */
export interface ClaimOptions {
  /** Who claims (a dispatcher's id); a lease names its owner. */
  readonly owner: string
  readonly limit: number
  readonly leaseMs: number
  readonly now: Date
  /** Only rows for these adapters (the ones this dispatcher can deliver to). */
  readonly adapters: ReadonlyArray<string>
}

/** One page of an audience query. */
export interface AudiencePage {
  readonly states: ReadonlyArray<SubjectState>
  /** Pass back as `after` for the next page; null at the end. */
  readonly next: string | null
}

/** Counts per purpose, notice version, action and UTC day, for dashboards. */
export interface RateRow {
  readonly purpose: string
  readonly noticeVersion: number
  readonly day: string
  readonly action: ConsentEvent["action"]
  readonly count: number
}

/** Outbox health, for monitoring propagation. */
export interface OutboxStats {
  readonly pending: number
  readonly dead: number
  readonly delivered: number
  /** Creation time of the oldest pending row; null when none. */
  readonly oldestPendingAt: Date | null
  readonly byAdapter: ReadonlyArray<{
    readonly adapter: string
    readonly pending: number
    readonly delivered: number
    readonly dead: number
  }>
}

/**
 * One entry of a store's change feed: a committed change of one subject (`seq` is the subject's
 * ledger position, as on `ConsentKit.Change`) at `position` in the store-wide change sequence.
 */
export interface FeedEntry {
  /** The store-wide change sequence: increasing, unique, possibly with gaps (a rolled-back write). */
  readonly position: number
  readonly tenant: string
  /**
   * The subject; an erasure names the erased subject's pseudonym instead (and the store deletes
   * the subject's earlier entries), so the feed never keeps an erased subject's id. A follower
   * drops every cached subject of the tenant on an erasure.
   */
  readonly subject: string
  /** The subject's ledger position after the change (an erasure: the position it erased at). */
  readonly seq: number
  readonly kind: "write" | "erase"
}

/**
 * The store's change feed: every committed write and erasure, in a store-wide sequence that kits
 * follow to keep their decision caches current across instances and processes.
 */
export interface ChangeFeed {
  /** The newest position (0 before any change). */
  readonly head: Effect.Effect<number, StoreError>
  /** Entries with `position > after`, ascending, at most `limit`. */
  readonly since: (after: number, limit: number) => Effect.Effect<ReadonlyArray<FeedEntry>, StoreError>
  /**
   * Push stores (PostgreSQL LISTEN/NOTIFY): a subscription to entries as they are notified, open
   * while its scope lives. Notifications can be lost across a reconnect; `since` is the source
   * of truth, so followers still poll it.
   */
  readonly subscribe?: Effect.Effect<FeedSubscription, StoreError, Scope.Scope>
  /** Deletes entries recorded before `before` (the feed keeps a bounded window); returns how many. */
  readonly prune?: (before: Date) => Effect.Effect<number, StoreError>
}

/** One follower's subscription to a push feed. */
export interface FeedSubscription {
  /** In-process feeds (the memory store): every entry arrives and the feed cannot go down, so followers need not poll. */
  readonly lossless?: boolean
  /**
   * Resolves with the entries notified since the last take, waiting up to `timeoutMs` for one
   * (then possibly none); fails while the push connection is down.
   */
  readonly take: (timeoutMs: number) => Effect.Effect<ReadonlyArray<FeedEntry>, StoreError>
}

/** The store port. */
export interface ConsentStoreShape {
  readonly capabilities: StoreCapabilities
  /**
   * Runs `body` in one transaction holding the subject's lock: two writers of one subject, in
   * one process or many, run one after the other. Commits when `body` succeeds, rolls back
   * when it fails (nothing of it stays).
   */
  readonly withSubject: <A, E>(
    tenant: string,
    subject: string,
    body: (tx: SubjectTransaction) => Effect.Effect<A, E>,
  ) => Effect.Effect<A, E | StoreError>
  /** The subject's state projection (null when it has no events). */
  readonly state: (tenant: string, subject: string) => Effect.Effect<SubjectState | null, StoreError>
  /** The subject's events in seq order, optionally for one purpose. */
  readonly history: (
    tenant: string,
    subject: string,
    options?: { readonly purpose?: string },
  ) => Effect.Effect<ReadonlyArray<ConsentEvent>, StoreError>
  /** The state as it stood at an instant: the fold of events whose `occurredAt` is at or before it (`State.at`). */
  readonly stateAt: (
    tenant: string,
    subject: string,
    at: Date,
  ) => Effect.Effect<SubjectState | null, StoreError>
  /** Which subject an alias belongs to. */
  readonly resolveAlias: (tenant: string, alias: Alias) => Effect.Effect<string | null, StoreError>
  /** Every receipt kept for a subject. */
  readonly receipts: (
    tenant: string,
    subject: string,
  ) => Effect.Effect<ReadonlyArray<StoredCommand>, StoreError>
  /** The subjects of a tenant, in id order after `after`, whose state has a grant for one of `purposes`. */
  readonly audiencePage: (options: {
    readonly tenant: string
    readonly purposes: ReadonlyArray<string>
    readonly after: string | null
    readonly limit: number
  }) => Effect.Effect<AudiencePage, StoreError>
  /** Event counts per purpose, notice version, action and day in [from, to). */
  readonly rates: (options: {
    readonly tenant: string
    readonly from: Date
    readonly to: Date
  }) => Effect.Effect<ReadonlyArray<RateRow>, StoreError>
  /** Claims up to `limit` deliverable rows: pending, due, lease free, and first of their subject and adapter. */
  readonly claim: (options: ClaimOptions) => Effect.Effect<ReadonlyArray<Delivery>, StoreError>
  /** Marks a claimed row delivered (an erase delivery scrubs the subject's rows for that adapter). */
  readonly complete: (id: string, owner: string, now: Date) => Effect.Effect<void, StoreError>
  /** Records a failed attempt: due again at `retryAt`, or dead when `retryAt` is null. */
  readonly fail: (
    id: string,
    owner: string,
    failure: { readonly error: string; readonly retryAt: Date | null; readonly now: Date },
  ) => Effect.Effect<void, StoreError>
  /** Dead rows, oldest first. */
  readonly deadLetters: (options: {
    readonly tenant?: string
    readonly adapter?: string
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<Delivery>, StoreError>
  /** Makes dead rows pending again with a fresh attempt count; returns how many. */
  readonly replay: (ids: ReadonlyArray<string>, now: Date) => Effect.Effect<number, StoreError>
  /** Every outbox row of one intent (erasure progress per adapter). */
  readonly deliveriesOf: (intentId: string) => Effect.Effect<ReadonlyArray<Delivery>, StoreError>
  /** Outbox health. */
  readonly outboxStats: (tenant?: string) => Effect.Effect<OutboxStats, StoreError>
  /** An erasure request by id. */
  readonly erasure: (tenant: string, id: string) => Effect.Effect<ErasureRequest | null, StoreError>
  /** Events of a pseudonymous (erased) chain, for proof. */
  readonly erasedHistory: (
    tenant: string,
    pseudonym: string,
  ) => Effect.Effect<ReadonlyArray<ConsentEvent>, StoreError>
  /**
   * Resolves when work may have arrived (a notification) or after `timeoutMs`, whichever first.
   * Present when `supportsListenNotify`; a missed notification loses nothing, since the outbox
   * is the source of truth.
   */
  readonly waitForWork?: (timeoutMs: number) => Effect.Effect<void, StoreError>
  /** Tell other processes that work arrived (after commit). */
  readonly notifyWork?: Effect.Effect<void, StoreError>
  /** Scrubs what an erasure freed (SQLite: freed pages are zeroed by secure_delete; the WAL is truncated). */
  readonly afterErasure?: Effect.Effect<void, StoreError>
  /** Present on stores that keep the tenant Merkle log (proofs, checkpoints). */
  readonly log?: LogReads
  /** Present on stores with a change feed: kits follow it so a change on any instance reaches every cache. */
  readonly changes?: ChangeFeed
}

/** The store service. A backend package provides it with `layer(config)`. */
export class ConsentStore extends Context.Service<ConsentStore, ConsentStoreShape>()(
  "@consentkit/core/ConsentStore",
) {}
