/**
 * The tenant's proof log: every ledger event (and every erasure) is a leaf of a per-tenant
 * Merkle log in commit order (RFC 9162 hashing). Checkpoints of it are signed outside the
 * database; inclusion and consistency proofs, and `audit`, check a store against a checkpoint
 * with the public key alone.
 *
 * An event's entry holds every stored field, the personal ones (subject, actor id, evidence,
 * salt) through the salted personal digest: the log keeps no personal data, so erasure leaves
 * it intact, and `erased` is in the entry (false at append; an erasure is its own entry).
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import * as Checkpoint from "./Checkpoint.js"
import type { ConsentStoreShape, LogAppend, LogEntry, LogReads } from "./ConsentStore.js"
import { StoreError } from "./Errors.js"
import { canonicalJson } from "./internal/canonical.js"
import { fromHex, toHex } from "./internal/sha256.js"
import * as Ledger from "./Ledger.js"
import type { ConsentEvent } from "./Ledger.js"
import * as MerkleLog from "./MerkleLog.js"
import type { SignError, SignerShape, Verifier } from "./Signer.js"

const encoder = new TextEncoder()

/** The canonical entry of an event: every stored field, personal ones by their digest. */
export const eventEntry = (event: ConsentEvent): string =>
  canonicalJson({
    v: 1,
    kind: "event",
    id: event.id,
    tenant: event.tenant,
    seq: event.seq,
    purpose: event.purpose,
    action: event.action,
    noticeVersion: event.noticeVersion,
    occurredAt: event.occurredAt,
    recordedAt: event.recordedAt,
    source: event.source,
    actorKind: event.actor.kind,
    jurisdiction: event.jurisdiction,
    subjectAge: event.subjectAge,
    expiresAt: event.expiresAt,
    commandId: event.commandId,
    personalDigest: event.personalDigest,
    prevHash: event.prevHash,
    hash: event.hash,
    erased: event.erased,
  })

/** What an erasure entry records: which events became pseudonymous, under which pseudonym, when. */
export interface ErasureRecord {
  readonly id: string
  readonly tenant: string
  readonly pseudonym: string
  readonly erasedAt: Date
  readonly eventIds: ReadonlyArray<string>
}

/** The canonical entry of an erasure. */
export const erasureEntry = (erasure: ErasureRecord): string =>
  canonicalJson({
    v: 1,
    kind: "erasure",
    id: erasure.id,
    tenant: erasure.tenant,
    pseudonym: erasure.pseudonym,
    erasedAt: erasure.erasedAt,
    events: erasure.eventIds,
  })

/** What is appended: an event or an erasure. */
export type Appended =
  | { readonly kind: "event"; readonly event: ConsentEvent }
  | { readonly kind: "erasure"; readonly erasure: ErasureRecord }

/** The leaf hash of an entry's text. */
export const leafOf = (entry: string): MerkleLog.Hash => MerkleLog.leafHash(encoder.encode(entry))

/** Computes an append in O(log n) per entry from the current compact range (pure). */
export const buildAppend = (range: MerkleLog.CompactRange, items: ReadonlyArray<Appended>): LogAppend => {
  const entries: Array<LogEntry> = []
  const nodes: Array<MerkleLog.CompletedNode> = []
  let current = range
  for (const item of items) {
    const entry = item.kind === "event" ? eventEntry(item.event) : erasureEntry(item.erasure)
    const leaf = leafOf(entry)
    const ref = item.kind === "event" ? item.event.id : item.erasure.id
    entries.push({ index: current.size, kind: item.kind, ref, entry, leafHash: toHex(leaf) })
    const step = MerkleLog.append(current, leaf)
    for (const node of step.completed) if (node.level > 0) nodes.push(node)
    current = step.range
  }
  return { entries, nodes, range: current }
}

const noLog = (doing: string) =>
  new StoreError({
    code: "UNAVAILABLE",
    message: `this store keeps no proof log (${doing})`,
    isRetryable: false,
  })

/** The store's log reads, or a StoreError when it keeps none. */
export const readsOf = (store: ConsentStoreShape, doing: string): Effect.Effect<LogReads, StoreError> =>
  store.log ? Effect.succeed(store.log) : Effect.fail(noLog(doing))

/** Runs a proof computation over the store's nodes: learns which it reads, fetches them, runs it. */
const withNodes = <A>(
  log: LogReads,
  tenant: string,
  compute: (nodes: MerkleLog.NodeSource) => A,
): Effect.Effect<A, StoreError> =>
  Effect.gen(function* () {
    const ids = MerkleLog.nodesNeeded(compute)
    const found = yield* log.logNodes(tenant, ids)
    const missing = ids.find((id) => !found.has(`${id.level}/${id.index}`))
    if (missing)
      return yield* Effect.fail(
        new StoreError({
          code: "CORRUPT",
          message: `the log lacks node ${missing.level}/${missing.index}`,
          isRetryable: false,
        }),
      )
    return compute((level, index) => found.get(`${level}/${index}`)!)
  })

/** An inclusion proof for leaf `index` in the tree of `size` leaves. */
export const inclusionProof = (store: ConsentStoreShape, tenant: string, index: number, size: number) =>
  Effect.flatMap(readsOf(store, "prove inclusion"), (log) =>
    withNodes(log, tenant, (nodes) => MerkleLog.inclusionProof(index, size, nodes)),
  )

/** A consistency proof from the tree of `from` leaves to the tree of `to` leaves. */
export const consistencyProof = (store: ConsentStoreShape, tenant: string, from: number, to: number) =>
  Effect.flatMap(readsOf(store, "prove consistency"), (log) =>
    withNodes(log, tenant, (nodes) => MerkleLog.consistencyProof(from, to, nodes)),
  )

/** The root of the tenant's tree at `size` leaves, from the stored nodes. */
export const rootAt = (store: ConsentStoreShape, tenant: string, size: number) =>
  Effect.flatMap(readsOf(store, "compute a root"), (log) =>
    withNodes(log, tenant, (nodes) => MerkleLog.rootFrom(size, nodes)),
  )

/** Signs the tenant's current tree: the C2SP signed note and the checkpoint in it. */
export const checkpoint = (
  store: ConsentStoreShape,
  signer: SignerShape,
  tenant: string,
  origin = Checkpoint.originOf(tenant),
): Effect.Effect<
  { readonly note: string; readonly checkpoint: Checkpoint.Checkpoint },
  StoreError | SignError
> =>
  Effect.gen(function* () {
    const log = yield* readsOf(store, "sign a checkpoint")
    const range = yield* log.logRange(tenant)
    const cp = { origin, size: range.size, root: MerkleLog.rootOf(range) }
    return { note: yield* Checkpoint.sign(cp, signer), checkpoint: cp }
  })

/** Where the leaf of an event sits, and its proof against a checkpoint's tree. */
export interface EventProof {
  readonly index: number
  readonly size: number
  readonly leafHash: string
  readonly proof: ReadonlyArray<string>
}

/** The leaf index and inclusion proof of an event against a tree of `size` leaves. */
export const proveEvent = (
  store: ConsentStoreShape,
  tenant: string,
  entryIndex: number,
  size: number,
): Effect.Effect<EventProof, StoreError> =>
  Effect.gen(function* () {
    const log = yield* readsOf(store, "prove an event")
    const [entry] = yield* log.logEntries(tenant, entryIndex, entryIndex + 1)
    if (!entry) return yield* Effect.fail(noLog(`no entry ${entryIndex}`))
    const proof = yield* inclusionProof(store, tenant, entryIndex, size)
    return { index: entryIndex, size, leafHash: entry.leafHash, proof: proof.map(toHex) }
  })

/** The inclusion proof of an event, by its id, in the tree of `size` leaves (default: the log as it stands). */
export const proveEventById = (
  store: ConsentStoreShape,
  tenant: string,
  eventId: string,
  size?: number,
): Effect.Effect<EventProof, StoreError> =>
  Effect.gen(function* () {
    const log = yield* readsOf(store, "prove an event")
    const [entry] = (yield* log.logEntriesOf(tenant, [eventId])).filter((e) => e.kind === "event")
    const treeSize = size ?? (yield* log.logRange(tenant)).size
    if (!entry || entry.index >= treeSize)
      return yield* Effect.fail(noLog(`event ${eventId} is not in the tree`))
    return yield* proveEvent(store, tenant, entry.index, treeSize)
  })

/** Checks an event proof against a checkpoint root, offline. */
export const verifyEventProof = (proof: EventProof, root: MerkleLog.Hash): boolean => {
  try {
    return MerkleLog.verifyInclusion(
      proof.index,
      proof.size,
      fromHex(proof.leafHash),
      proof.proof.map(fromHex),
      root,
    )
  } catch {
    return false
  }
}

/** The first thing wrong with a log against a checkpoint. */
export interface AuditProblem {
  readonly kind:
    | "signature"
    | "truncated"
    | "consistency"
    | "entry"
    | "missing-event"
    | "unlogged-event"
    | "chain"
  /** The leaf index at fault, when one is. */
  readonly index?: number
  /** The event at fault, when one is. */
  readonly eventId?: string
  readonly message: string
}

/** What `audit` found: the checked sizes, or the first problem. */
export type Audit =
  | { readonly ok: true; readonly checkpointSize: number; readonly size: number; readonly events: number }
  | { readonly ok: false; readonly problem: AuditProblem }

const bad = (problem: AuditProblem): Audit => ({ ok: false, problem })

const parseEntry = (text: string): Record<string, unknown> | null => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/**
 * Checks a tenant's store against a signed checkpoint with the public key alone: the note's
 * signature; that the log still holds the checkpoint's tree (its first `size` leaves hash to the
 * signed root, and a consistency proof from the stored nodes leads to today's root); that every
 * entry's leaf matches its text and every ledger row matches its entry (an erased row only under
 * a logged erasure); that no row is missing from the log; and every subject's hash chain.
 */
export const audit = (
  store: ConsentStoreShape,
  verifier: Verifier,
  tenant: string,
  note: string,
  /** The log the checkpoint must be of: a checkpoint of another tenant's log vouches for nothing here. */
  origin: string = Checkpoint.originOf(tenant),
): Effect.Effect<Audit, StoreError> =>
  Effect.gen(function* () {
    const log = yield* readsOf(store, "audit")
    const opened = yield* Effect.result(Checkpoint.open(note, verifier, origin))
    if (opened._tag === "Failure") return bad({ kind: "signature", message: opened.failure.message })
    const cp = opened.success
    const range = yield* log.logRange(tenant)
    if (range.size < cp.size)
      return bad({
        kind: "truncated",
        message: `the log has ${range.size} entries, fewer than the checkpoint's ${cp.size}: it was truncated`,
      })
    const entries = yield* log.logEntries(tenant, 0, range.size)
    const leaves: Array<MerkleLog.Hash> = []
    for (let i = 0; i < range.size; i++) {
      const entry = entries[i]
      if (!entry || entry.index !== i)
        return bad({ kind: "truncated", index: i, message: `log entry ${i} is missing` })
      const leaf = leafOf(entry.entry)
      if (toHex(leaf) !== entry.leafHash)
        return bad({ kind: "entry", index: i, message: `log entry ${i} does not match its leaf hash` })
      leaves.push(leaf)
    }
    if (!MerkleLog.equal(MerkleLog.rootFromLeaves(leaves.slice(0, cp.size)), cp.root))
      return bad({
        kind: "consistency",
        message: `the log's first ${cp.size} entries do not hash to the checkpoint's root: history was rewritten`,
      })
    const now = MerkleLog.rootFromLeaves(leaves)
    if (!MerkleLog.equal(MerkleLog.rootOf(range), now))
      return bad({
        kind: "consistency",
        message: "the stored compact range does not match the log's entries",
      })
    const proof = yield* Effect.result(consistencyProof(store, tenant, cp.size, range.size))
    if (
      proof._tag === "Failure" ||
      !MerkleLog.verifyConsistency(cp.size, range.size, cp.root, now, proof.success)
    )
      return bad({
        kind: "consistency",
        message: `no valid consistency proof from the checkpoint (size ${cp.size}) to the log (size ${range.size})`,
      })

    const events = yield* log.tenantEvents(tenant)
    const byId = new Map(events.map((e) => [e.id, e]))
    const erasedUnder = new Map<string, string>()
    for (const entry of entries) {
      const parsed = parseEntry(entry.entry)
      if (entry.kind === "erasure" && parsed && Array.isArray(parsed.events))
        for (const id of parsed.events) erasedUnder.set(String(id), String(parsed.pseudonym))
    }
    const logged = new Set<string>()
    for (const entry of entries) {
      if (entry.kind !== "event") continue
      const event = byId.get(entry.ref)
      if (!event)
        return bad({
          kind: "missing-event",
          index: entry.index,
          eventId: entry.ref,
          message: `log entry ${entry.index}: event ${entry.ref} is missing from the ledger`,
        })
      logged.add(event.id)
      const pseudonym = erasedUnder.get(event.id)
      const erasedOk = !event.erased || (pseudonym !== undefined && pseudonym === event.subject)
      if (eventEntry({ ...event, erased: false }) !== entry.entry || !erasedOk)
        return bad({
          kind: "entry",
          index: entry.index,
          eventId: event.id,
          message: `log entry ${entry.index}: event ${event.id} (seq ${event.seq}) was changed after it was logged`,
        })
    }
    const unlogged = events.find((e) => !logged.has(e.id))
    if (unlogged)
      return bad({
        kind: "unlogged-event",
        eventId: unlogged.id,
        message: `event ${unlogged.id} (seq ${unlogged.seq}) is in the ledger but not in the log`,
      })
    const chains = new Map<string, Array<ConsentEvent>>()
    for (const e of events) chains.set(e.subject, [...(chains.get(e.subject) ?? []), e])
    for (const chain of chains.values()) {
      const result = yield* Ledger.verify([...chain].sort((a, b) => a.seq - b.seq))
      if (!result.ok)
        return bad({ kind: "chain", eventId: result.problem.eventId, message: result.problem.message })
    }
    return { ok: true, checkpointSize: cp.size, size: range.size, events: events.length }
  })
