/**
 * Migrations through Kysely's `Migrator` with a static provider (the record in
 * `migrations/index.ts`, no filesystem scanning) and a migration table of our own per prefix.
 *
 * @since 0.1.0
 */
import * as kysely from "kysely"
import type { Kysely, Migration, MigrationResult, Migrator } from "kysely"
import { dialectOf } from "./internal/dialect.js"
import { TablePrefixPlugin } from "./internal/prefix.js"
import { migrations } from "./migrations/index.js"
import { checkPrefix, DEFAULT_PREFIX, migrationTable, type SqlDialect, TABLES } from "./schema.js"

/** Options of `migrate`. */
export interface MigrateOptions {
  /** Table name prefix (default `consentkit_`); the migration table is `<prefix>migration`. */
  readonly tablePrefix?: string
  /** The dialect; read from the Kysely instance when omitted. */
  readonly dialect?: SqlDialect
}

/** What `migrate` did. */
export interface MigrateResult {
  /** Migrations applied by this call, in order (empty when the schema was current). */
  readonly applied: ReadonlyArray<string>
}

// A variable, so neither TypeScript nor a bundler tries to resolve a path kysely 0.28 lacks.
const MIGRATION_MODULE = "kysely/migration"

/** Kysely 0.29 moved `Migrator` to `kysely/migration`; 0.28 has it at the root. */
const loadMigrator = async (): Promise<typeof Migrator> => {
  try {
    const moved = (await import(/* @vite-ignore */ MIGRATION_MODULE)) as { Migrator?: typeof Migrator }
    if (typeof moved.Migrator === "function") return moved.Migrator
  } catch {
    // kysely 0.28: no such subpath.
  }
  return kysely.Migrator
}

/** Brings the store's tables up to date; safe to run on every start and from several processes. */
export const migrate = async <DB>(db: Kysely<DB>, options: MigrateOptions = {}): Promise<MigrateResult> => {
  const prefix = checkPrefix(options.tablePrefix ?? DEFAULT_PREFIX)
  const dialect = options.dialect ?? dialectOf(db)
  const context = { prefix, dialect }
  const provided: Record<string, Migration> = {}
  for (const [name, migration] of Object.entries(migrations)) {
    const { down } = migration
    provided[name] = {
      up: (mdb) => migration.up(mdb, context),
      ...(down ? { down: (mdb) => down(mdb, context) } : {}),
    }
  }
  const MigratorClass = await loadMigrator()
  const migrator = new MigratorClass({
    db: db.withPlugin(new TablePrefixPlugin(prefix, TABLES)),
    provider: { getMigrations: async () => provided },
    migrationTableName: migrationTable(prefix),
    migrationLockTableName: `${migrationTable(prefix)}_lock`,
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r: MigrationResult) => r.status === "Error")
    throw new Error(
      `consentkit ${failed?.migrationName ? `migration ${failed.migrationName}` : "migrating"} failed: ${String((error as Error)?.message ?? error)}`,
      {
        cause: error,
      },
    )
  }
  return { applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName) }
}
