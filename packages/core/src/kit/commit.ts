/**
 * The one write path: every command becomes events on the subject's chain in one store
 * transaction that appends the events, saves the state, enqueues the intents and keeps the receipt.
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import * as Command from "../Command.js"
import type { ConsentStoreShape, StoredCommand } from "../ConsentStore.js"
import * as Decision from "../Decision.js"
import type { StoreError } from "../Errors.js"
import { randomId, randomSalt } from "../internal/crypto.js"
import { addLifetime } from "../internal/time.js"
import * as Intent from "../Intent.js"
import * as Ledger from "../Ledger.js"
import * as ProofLog from "../ProofLog.js"
import * as Receipt from "../Receipt.js"
import * as SignedReceipt from "../SignedReceipt.js"
import * as State from "../State.js"
import type { KitContext } from "./context.js"
import type { RecordResult } from "./types.js"

/** A transaction's extra step, run after the events are written (e.g. adding an alias). */
export type Extra = (
  tx: Parameters<Parameters<ConsentStoreShape["withSubject"]>[2]>[0],
) => Effect.Effect<void, StoreError>

/** Decides, under the subject's lock, which decisions to write (GPC and opt-outs skip what is already refused). */
export type Select = (state: State.SubjectState | null) => Command.ValidRecord["decisions"]

export const makeCommit = (ctx: KitContext) => {
  const { store, policy, remember, committed, toDeliveries, options } = ctx
  const signer = options.receiptSigner
  /** The receipt as a JWS, after the commit (the proof reads the committed log); a failure is logged, never the command's. */
  const sign = (tenant: string, result: RecordResult): Effect.Effect<RecordResult> =>
    !signer || !result.receipt
      ? Effect.succeed(result)
      : SignedReceipt.issue(store, signer, tenant, result.receipt).pipe(
          Effect.map((jws): RecordResult => ({ ...result, signedReceipt: jws })),
          Effect.catch((error) =>
            Effect.logWarning("signing a receipt failed", error).pipe(
              Effect.as({ ...result, signedReceipt: null }),
            ),
          ),
        )
  /** The command's events before they have a place on the chain (ids, salts, expiries). */
  const unsealedOf = (
    valid: Command.ValidRecord,
    decisions: Command.ValidRecord["decisions"],
    commandId: string,
    recordedAt: Date,
  ): Array<Ledger.UnsealedEvent> =>
    decisions.map((d) => {
      const purpose = policy.purposes.get(d.purpose)!
      return {
        id: randomId(),
        tenant: valid.tenant,
        subject: valid.subject,
        purpose: d.purpose,
        ...(d.channel !== undefined ? { channel: d.channel } : {}),
        action: d.action,
        noticeVersion: d.noticeVersion,
        occurredAt: valid.occurredAt,
        recordedAt,
        source: valid.source,
        actor: valid.actor,
        evidence: valid.evidence,
        jurisdiction: valid.jurisdiction,
        subjectAge: valid.age,
        expiresAt:
          d.action === "grant" && purpose.lifetime ? addLifetime(valid.occurredAt, purpose.lifetime) : null,
        commandId,
        salt: randomSalt(),
      }
    })
  return (valid: Command.ValidRecord, now: number, extra?: Extra, select?: Select) =>
    Effect.gen(function* () {
      const scoped = yield* scopedKey(valid)
      const commandId = randomId()
      const recordedAt = new Date(now)
      // Everything that does not depend on the subject's chain head (ids, salts, personal
      // digests, canonical encoding) is done before the transaction, so the write lock (SQLite's
      // one writer, PostgreSQL's subject row) is held for the reads, one hash per event and the writes.
      // Commands whose decisions depend on the state (GPC, opt-outs, links) prepare under the lock.
      const early =
        select || valid.decisions.length === 0
          ? null
          : yield* Ledger.prepare(unsealedOf(valid, valid.decisions, commandId, recordedAt))
      return yield* store
        .withSubject(valid.tenant, valid.subject, (tx) =>
          Effect.gen(function* () {
            if (scoped) {
              const earlier = yield* tx.findCommand(scoped)
              if (earlier) return { earlier, created: null }
            }
            const before = yield* tx.state
            const decisions = select ? select(before) : valid.decisions
            if (decisions.length === 0) {
              if (extra) yield* extra(tx)
              return {
                earlier: null,
                created: {
                  commandId,
                  events: [] as Array<Ledger.ConsentEvent>,
                  before,
                  after: before,
                  intents: [] as Array<Intent.Intent>,
                  receipt: null,
                },
              }
            }
            const prepared =
              early ?? (yield* Ledger.prepare(unsealedOf(valid, decisions, commandId, recordedAt)))
            const head = { seq: before?.seq ?? 0, hash: before?.head ?? null }
            const events = yield* Ledger.sealPrepared(head, prepared)
            let after = before ?? State.empty(valid.tenant, valid.subject)
            for (const e of events) after = State.apply(after, e)
            const intents: Array<Intent.Intent> = Intent.diff(policy, before ?? undefined, after, now).map(
              (draft) => ({
                ...draft,
                id: randomId(),
                tenant: valid.tenant,
                subject: valid.subject,
                seq: after.seq,
                createdAt: recordedAt,
              }),
            )
            const receipt = Receipt.fromEvents(policy, commandId, events)
            yield* tx.append(events)
            if (tx.log)
              yield* tx.log.appendLog((range) =>
                ProofLog.buildAppend(
                  range,
                  events.map((event) => ({ kind: "event", event })),
                ),
              )
            yield* tx.saveState(after)
            const deliveries = toDeliveries(intents)
            if (deliveries.length > 0) yield* tx.enqueue(deliveries)
            const stored: StoredCommand = {
              tenant: valid.tenant,
              key: scoped ?? commandId,
              subject: valid.subject,
              commandId,
              recordedAt,
              eventIds: events.map((e) => e.id),
              receipt,
            }
            yield* tx.saveCommand(stored)
            if (extra) yield* extra(tx)
            return { earlier: null, created: { commandId, events, before, after, intents, receipt } }
          }),
        )
        .pipe(
          Effect.map(({ earlier, created }): RecordResult => {
            if (earlier) {
              return {
                commandId: earlier.commandId,
                duplicate: true,
                events: [],
                eventIds: earlier.eventIds,
                receipt: earlier.receipt,
                decisions: [],
                intents: [],
              }
            }
            const c = created!
            remember(valid.tenant, valid.subject, c.after, now)
            if (c.events.length > 0)
              committed({
                tenant: valid.tenant,
                subject: valid.subject,
                seq: c.after?.seq ?? 0,
                kind: "write",
              })
            return {
              commandId: c.commandId,
              duplicate: false,
              events: c.events,
              eventIds: c.events.map((e) => e.id),
              receipt: c.receipt,
              decisions: c.events.map((e) =>
                Decision.decide(
                  policy,
                  c.after ?? undefined,
                  e.purpose,
                  now,
                  e.channel !== undefined ? { channel: e.channel } : undefined,
                ),
              ),
              intents: c.intents,
            }
          }),
          Effect.flatMap((result) => sign(valid.tenant, result)),
        )
    })
}

/** The stored form of the command's idempotency key (`Command.storedIdempotencyKey`), if it has one. */
const scopedKey = (valid: Command.ValidRecord): Effect.Effect<string | null> =>
  valid.idempotencyKey === null
    ? Effect.succeed(null)
    : Effect.promise(() => Command.storedIdempotencyKey(valid.tenant, valid.subject, valid.idempotencyKey!))
