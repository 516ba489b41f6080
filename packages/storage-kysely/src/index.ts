/**
 * @consentkit/storage-kysely: the consentkit store on Kysely for SQLite, PostgreSQL (server or
 * PGlite) and MySQL/MariaDB, with migrations. Bulk import and re-consent impact are in
 * `@consentkit/core`; the operator CLI is `@consentkit/cli`.
 *
 * @since 0.1.0
 */
export { type MigrateOptions, type MigrateResult, migrate } from "./migrate.js"
export { type MigrationContext, migrations, type StoreMigration } from "./migrations/index.js"
export { DEFAULT_PREFIX, type SqlDialect, type Tables } from "./schema.js"
export {
  type KyselyConsentStore,
  type KyselyStoreConfig,
  kyselyStore,
  type SubjectPage,
} from "./store/index.js"
export type { ListenConnection, Notifications } from "./internal/notify.js"
export {
  type Engine,
  type OpenedDatabase,
  type OpenedStore,
  type OpenOptions,
  type OpenStoreOptions,
  openDatabase,
  openStore,
  parseDatabaseUrl,
} from "./open.js"
export { PGliteDialect, type PGliteDialectConfig, type PGliteLike } from "./pglite.js"
export { type LayerConfig, layer } from "./layer.js"
