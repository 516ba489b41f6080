import type {
  InsertQueryBuilder,
  Kysely,
  QueryExecutorProvider,
  RawBuilder,
  Selectable,
  SelectQueryBuilder,
} from "kysely"
import type { Classification, DriverError } from "../internal/errors.js"
import type { OutboxTable, SqlDialect, Tables } from "../schema.js"

/** The outbox rows a dispatcher may claim now (ids only), oldest first, at most `limit`. */
export type Claimable = () => SelectQueryBuilder<
  Tables & { o: OutboxTable },
  "o",
  { id: number | string | bigint }
>

/** What a claim writes on the rows it takes. */
export interface Lease {
  readonly lease_owner: string
  readonly lease_until: number
}

/**
 * What one SQL engine does differently from the others; everything else in the store is shared.
 * One object per engine (`dialects/`), like Kysely's dialects; PGlite uses the PostgreSQL one.
 */
export interface StoreDialect {
  readonly name: SqlDialect
  readonly supportsSkipLocked: boolean
  readonly supportsReturning: boolean
  /**
   * Whether a subject transaction locks its subject row. False where BEGIN already takes the
   * database's write lock (SQLite), so writers of one subject cannot interleave anyway.
   */
  readonly locksSubjectRow: boolean
  /** Whether `batch` folds subject transactions into one (SQLite: one commit per batch is the win). */
  readonly batchesTransactions: boolean
  /** Begins a transaction on a held connection, at the isolation the store relies on. */
  readonly begin: (conn: QueryExecutorProvider) => Promise<void>
  /** Inserts, or on a duplicate `key` updates `set`. */
  readonly upsert: <TB extends keyof Tables & string, O>(
    insert: InsertQueryBuilder<Tables, TB, O>,
    key: ReadonlyArray<keyof Tables[TB] & string>,
    set: Readonly<Record<string, unknown>>,
  ) => InsertQueryBuilder<Tables, TB, O>
  /**
   * Inserts unless the row exists, and then holds that row's exclusive lock. `touch` is a no-op
   * assignment for engines that need one to take the lock (MySQL).
   */
  readonly insertIfMissing: <TB extends keyof Tables & string, O>(
    insert: InsertQueryBuilder<Tables, TB, O>,
    touch: Readonly<Record<string, unknown>>,
  ) => InsertQueryBuilder<Tables, TB, O>
  /** The day number (since the epoch) of an epoch-milliseconds column. */
  readonly dayOf: (column: string) => RawBuilder<number>
  /** Leases the claimable rows and returns them as updated, skipping rows other dispatchers hold. */
  readonly claim: (
    conn: Kysely<Tables>,
    claimable: Claimable,
    lease: Lease,
    now: number,
  ) => Promise<ReadonlyArray<Selectable<OutboxTable>>>
  /** Wakes listening dispatchers (engines with LISTEN/NOTIFY only). */
  readonly notify?: (conn: QueryExecutorProvider, channel: string) => Promise<void>
  /** Classifies a driver failure by its code; undefined when the code is not one of this engine's. */
  readonly classify: (error: DriverError) => Classification | undefined
}
