/**
 * What a migration is and what it is told.
 *
 * @since 0.2.0
 */
import type { Kysely } from "kysely"
import type { SqlDialect } from "../schema.js"

/** What a migration is told: the table prefix (for index names) and the dialect (for column types). */
export interface MigrationContext {
  readonly prefix: string
  readonly dialect: SqlDialect
}

/** One migration; `db` already applies the table prefix to table names. */
export interface StoreMigration {
  readonly up: (db: Kysely<unknown>, context: MigrationContext) => Promise<void>
  readonly down?: (db: Kysely<unknown>, context: MigrationContext) => Promise<void>
}
