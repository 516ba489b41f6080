import type { ConsentStore, StoreError } from "@consentkit/core"
import type { Effect } from "effect"
import type { Kysely } from "kysely"
import type { AnyKysely } from "../internal/kysely.js"
import type { Notifications } from "../internal/notify.js"
import type { SqlDialect, Tables } from "../schema.js"

/** How to build a store over an existing Kysely instance. */
export interface KyselyStoreConfig {
  /** A Kysely instance; the store applies its table prefix itself, so pass it without plugins of ours. */
  readonly db: AnyKysely
  readonly dialect: SqlDialect
  /** Table name prefix (default `consentkit_`); must match the one `migrate` used. */
  readonly tablePrefix?: string
  /** PostgreSQL server only: how to open a LISTEN connection, so dispatchers wake when work arrives. */
  readonly notifications?: Notifications
  /**
   * PostgreSQL only: record in two round trips, one read and one statement that checks the
   * subject is unchanged and does every write (migration 0007's `commit_v1`). Default true;
   * false keeps every subject transaction under the subject's row lock.
   */
  readonly oneTrip?: boolean
  /** Overrides of the declared capabilities (e.g. `{ name: "pglite", multiProcess: false }`). */
  readonly capabilities?: Partial<ConsentStore.StoreCapabilities>
}

/** A page of subject ids. */
export interface SubjectPage {
  readonly subjects: ReadonlyArray<string>
  readonly next: string | null
}

/** The store, with what operators and tools need beyond the port. */
export interface KyselyConsentStore extends ConsentStore.ConsentStoreShape {
  readonly dialect: SqlDialect
  readonly tablePrefix: string
  /** The Kysely instance with the table prefix applied (queries name tables without it). */
  readonly db: Kysely<Tables>
  /**
   * Runs `effect` with every subject transaction it starts folded into one database transaction
   * (SQLite): transactions of one subject still run one after another, different subjects'
   * side by side, and all commit together or not at all (any failed subject transaction fails
   * the batch). Other dialects run `effect` unchanged. Bulk import uses it: one commit per batch.
   */
  readonly batch: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
  /** The subjects of a tenant that have a state, in id order after `after`. */
  readonly subjects: (options: {
    readonly tenant: string
    readonly after: string | null
    readonly limit: number
  }) => Effect.Effect<SubjectPage, StoreError>
  /** Counts every row of a tenant across the store's tables. */
  readonly rowsOf: (tenant: string) => Effect.Effect<number, StoreError>
  /** Stops the LISTEN connection (the Kysely instance belongs to the caller and stays open). */
  readonly close: () => Promise<void>
}
