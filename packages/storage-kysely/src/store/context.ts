import type { StoreError } from "@consentkit/core"
import { Context, Effect, type Semaphore } from "effect"
import type { Kysely } from "kysely"
import { transaction } from "../internal/connection.js"
import { toStoreError } from "../internal/errors.js"
import type { Tables } from "../schema.js"
import type { StoreDialect } from "./dialect.js"

/** A batch of subject transactions folded into one database transaction (see `KyselyConsentStore.batch`). */
export interface Batch {
  readonly owner: symbol
  readonly conn: Kysely<Tables>
  /** One lock per subject: a subject's transactions still run one after another. */
  readonly locks: Map<string, Semaphore.Semaphore>
  /** The first failure of a subject transaction: the whole batch rolls back. */
  failure: { readonly error: unknown } | null
}

/** The batch the current fiber runs in, if any. */
export const CurrentBatch = Context.Reference<Batch | null>("@consentkit/storage-kysely/CurrentBatch", {
  defaultValue: () => null,
})

/** What every part of one store shares: its database, its dialect, and how it runs and fails. */
export interface StoreContext {
  readonly db: Kysely<Tables>
  readonly dialect: StoreDialect
  /** Tells this store's batches from another store's. */
  readonly identity: symbol
  /** Wakes dispatchers, when the store listens for work (PostgreSQL server with notifications). */
  readonly notify: ((conn: Kysely<Tables>) => Promise<void>) | null
  /** The NOTIFY channels of the change feed and of work (PostgreSQL server with notifications), else null. */
  readonly channels: { readonly changes: string; readonly work: string } | null
  /** A driver failure as a StoreError (remembering conflicts, which retry the subject transaction). */
  readonly fail: (cause: unknown, doing: string) => StoreError
  /** Whether a failure asks for the whole subject transaction to run again. */
  readonly isConflict: (error: unknown) => boolean
  /** Runs Promise work, its failure a StoreError. */
  readonly attempt: <A>(doing: string, work: () => Promise<A>) => Effect.Effect<A, StoreError>
  /** Runs a query on the batch connection when the fiber is in one of this store's batches, else on the pool. */
  readonly query: <A>(
    doing: string,
    work: (conn: Kysely<Tables>) => Promise<A>,
  ) => Effect.Effect<A, StoreError>
  /** Runs Promise work in its own transaction (or inside the current batch's). */
  readonly inTransaction: <A>(
    doing: string,
    work: (conn: Kysely<Tables>) => Promise<A>,
  ) => Effect.Effect<A, StoreError>
}

/** Builds the shared context of a store. */
export const makeContext = (
  db: Kysely<Tables>,
  dialect: StoreDialect,
  notify: StoreContext["notify"],
  channels: StoreContext["channels"] = null,
): StoreContext => {
  const identity = Symbol("store")
  // Errors that ask for the whole subject transaction to run again (deadlock, busy, serialisation).
  const conflicts = new WeakSet<object>()
  const fail = (cause: unknown, doing: string): StoreError => {
    const error = toStoreError(cause, dialect, doing)
    if (error.code === "CONFLICT" && error.isRetryable) conflicts.add(error)
    return error
  }
  const attempt = <A>(doing: string, work: () => Promise<A>): Effect.Effect<A, StoreError> =>
    Effect.tryPromise({ try: work, catch: (cause) => fail(cause, doing) })
  const ours = (batch: Batch | null): batch is Batch => batch !== null && batch.owner === identity
  return {
    db,
    dialect,
    identity,
    notify,
    channels,
    fail,
    isConflict: (error) => typeof error === "object" && error !== null && conflicts.has(error),
    attempt,
    query: (doing, work) =>
      CurrentBatch.use((batch) => attempt(doing, () => work(ours(batch) ? batch.conn : db))),
    inTransaction: (doing, work) =>
      CurrentBatch.use((batch) =>
        ours(batch)
          ? attempt(doing, () => work(batch.conn))
          : attempt(doing, () => transaction(db, dialect.begin, work)),
      ),
  }
}
