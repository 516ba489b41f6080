/**
 * Every migration of the store, by zero-padded name. Names are never renamed or reordered and a
 * new migration only ever goes at the end: the migration table records them by name.
 *
 * @since 0.1.0
 */
import type { Kysely } from "kysely"
import type { SqlDialect } from "../schema.js"
import { initial } from "./0001-initial.js"

/** What a migration is told: the table prefix (for index names) and the dialect (for column types). */
export interface MigrationContext {
  readonly prefix: string
  readonly dialect: SqlDialect
}

/** One migration; `db` already applies the table prefix to table names. */
export interface StoreMigration {
  readonly up: (db: Kysely<any>, context: MigrationContext) => Promise<void>
  readonly down?: (db: Kysely<any>, context: MigrationContext) => Promise<void>
}

/** The migrations, in order. */
export const migrations: Readonly<Record<string, StoreMigration>> = {
  "0001_initial": initial,
}
