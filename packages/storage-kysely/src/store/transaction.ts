import type { ConsentStore, StoreError } from "@consentkit/core"
import { Cause, Effect, Exit, Schedule, Semaphore } from "effect"
import { commit, type HeldConnection, openTransaction, rollback } from "../internal/connection.js"
import type { Tables } from "../schema.js"
import { type Batch, CurrentBatch, type StoreContext } from "./context.js"
import { type PendingChange, recordChange } from "./feed.js"
import { isMissingFunction, isNeedsLock, type OneTripStatements, oneTripTransaction } from "./oneTrip.js"
import type { Statements } from "./statements.js"
import { lockSubject, releaseSubject, subjectOperations } from "./subject.js"
import type { KyselyConsentStore } from "./types.js"

const MAX_ATTEMPTS = 8
const conflictBackoff = Schedule.jittered(Schedule.exponential("12 millis"))

/** The change a transaction leaves in the feed: its erasure if it erased, else its last write. */
const latest = (current: PendingChange | null, next: PendingChange): PendingChange =>
  current?.kind === "erase" ? current : next

type Body<A, E> = (tx: ConsentStore.SubjectTransaction) => Effect.Effect<A, E>

/** Runs `use` in a transaction on a held connection: commit on success, else roll back; then release. */
const withTransaction = <A, E, R>(
  ctx: StoreContext,
  doing: { readonly begin: string; readonly commit: string },
  use: (held: HeldConnection<Tables>) => Effect.Effect<A, E, R>,
): Effect.Effect<A, E | StoreError, R> =>
  Effect.acquireUseRelease(
    ctx.attempt(doing.begin, () => openTransaction(ctx.db, ctx.dialect.begin)),
    use,
    (held, exit) =>
      Effect.ensuring(
        Exit.isSuccess(exit)
          ? ctx.attempt(doing.commit, () => commit(held.conn))
          : Effect.promise(() => rollback(held.conn)),
        Effect.sync(() => held.release()),
      ),
  )

/** One try of a subject transaction on its own connection. */
const subjectTransaction = <A, E>(
  ctx: StoreContext,
  sqlOf: Statements,
  tenant: string,
  subject: string,
  body: Body<A, E>,
): Effect.Effect<A, E | StoreError> => {
  let wrote = false
  let enqueued = false
  let change: PendingChange | null = null
  return withTransaction(ctx, { begin: "begin a transaction", commit: "commit" }, (held) =>
    Effect.gen(function* () {
      const created = yield* ctx.attempt("lock the subject", () =>
        lockSubject(ctx, sqlOf, held.conn, tenant, subject),
      )
      const tx = subjectOperations(ctx, sqlOf, held.conn, tenant, subject, {
        written: () => {
          wrote = true
        },
        enqueued: () => {
          enqueued = true
        },
        changed: (c) => {
          change = latest(change, c)
        },
      })
      change = null
      const result = yield* body(tx)
      if (!wrote && created) {
        // The row was only a lock: leave no trace of a transaction that wrote nothing.
        yield* ctx.attempt("release the subject", () => releaseSubject(held.conn, tenant, subject))
      }
      const recorded = change
      const channels = ctx.channels
      if (recorded)
        yield* ctx.attempt("record the change in the feed", () =>
          recordChange(
            held.conn,
            tenant,
            subject,
            recorded,
            channels && { changes: channels.changes, work: enqueued ? channels.work : null },
          ),
        )
      const notify = ctx.notify
      // Dispatchers were woken by the feed's statement when it ran with notifications.
      if (enqueued && notify && !(recorded && channels))
        yield* ctx.attempt("notify dispatchers", () => notify(held.conn))
      return result
    }),
  )
}

/**
 * A subject transaction inside a batch: it runs on the batch's connection beside other
 * subjects' (one at a time per subject). Its failure fails the whole batch, so no savepoint is
 * needed and subjects need not wait for each other's hashing.
 */
const batchedSubjectTransaction = <A, E>(
  ctx: StoreContext,
  sqlOf: Statements,
  batch: Batch,
  tenant: string,
  subject: string,
  body: Body<A, E>,
): Effect.Effect<A, E | StoreError> => {
  const key = `${tenant}\u0000${subject}`
  let lock = batch.locks.get(key)
  if (!lock) {
    lock = Semaphore.makeUnsafe(1)
    batch.locks.set(key, lock)
  }
  let change: PendingChange | null = null
  const hooks = {
    written: () => undefined,
    enqueued: () => undefined,
    changed: (c: PendingChange) => {
      change = latest(change, c)
    },
  }
  return lock.withPermits(1)(
    Effect.suspend((): Effect.Effect<A, E | StoreError> => {
      if (batch.failure) return Effect.fail(ctx.fail(batch.failure.error, "continue a failed batch"))
      change = null
      return Effect.tap(body(subjectOperations(ctx, sqlOf, batch.conn, tenant, subject, hooks)), () => {
        const recorded = change
        return recorded
          ? ctx.attempt("record the change in the feed", () =>
              recordChange(
                batch.conn,
                tenant,
                subject,
                recorded,
                ctx.channels && { changes: ctx.channels.changes, work: null },
              ),
            )
          : Effect.void
      })
    }).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          if (Exit.isFailure(exit) && !batch.failure) batch.failure = { error: Cause.squash(exit.cause) }
        }),
      ),
    ),
  )
}

/** The port's subject transactions, and the store's batches of them. */
export const transactions = (
  ctx: StoreContext,
  sqlOf: Statements,
  oneTrip: { readonly statements: OneTripStatements; enabled: boolean } | null = null,
): Pick<KyselyConsentStore, "withSubject" | "batch"> => ({
  withSubject: (tenant, subject, body) =>
    CurrentBatch.use((batch) => {
      if (batch && batch.owner === ctx.identity)
        return batchedSubjectTransaction(ctx, sqlOf, batch, tenant, subject, body)
      // A lost race for the subject (a serialization failure, a deadlock) is tried again after a jittered backoff.
      const locked = subjectTransaction(ctx, sqlOf, tenant, subject, body).pipe(
        Effect.retry({ schedule: conflictBackoff, times: MAX_ATTEMPTS - 1, while: ctx.isConflict }),
      )
      const trip = oneTrip
      if (!trip || !trip.enabled) return locked
      // Two round trips first; a lost race, or a body that needs the lock, runs under the lock.
      return oneTripTransaction(ctx, trip.statements, tenant, subject, body).pipe(
        Effect.catchDefect((defect) => (isNeedsLock(defect) ? locked : Effect.die(defect))),
        Effect.catchIf(
          (error) => ctx.isConflict(error) || isMissingFunction(error),
          (error) => {
            // A database migrated before 0007 has no commit function: this store keeps the lock path.
            if (isMissingFunction(error)) trip.enabled = false
            return locked
          },
        ),
      )
    }),

  batch: (effect) =>
    !ctx.dialect.batchesTransactions
      ? effect
      : withTransaction(ctx, { begin: "begin a batch", commit: "commit a batch" }, (held) => {
          const current: Batch = { owner: ctx.identity, conn: held.conn, locks: new Map(), failure: null }
          return Effect.provideService(effect, CurrentBatch, current).pipe(
            // A subject transaction failed even if the caller carried on: nothing of the batch may stay.
            Effect.flatMap((value) =>
              current.failure
                ? Effect.fail(ctx.fail(current.failure.error, "finish the batch"))
                : Effect.succeed(value),
            ),
          )
        }),
})
