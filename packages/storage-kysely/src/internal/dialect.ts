import { MysqlAdapter, PostgresAdapter, type QueryExecutorProvider, SqliteAdapter } from "kysely"
import type { SqlDialect } from "../schema.js"

/** Which dialect family a Kysely instance speaks, from its adapter (a PGlite dialect uses the PostgreSQL adapter). */
export const dialectOf = (db: QueryExecutorProvider): SqlDialect => {
  const adapter = db.getExecutor().adapter
  if (adapter instanceof PostgresAdapter) return "postgres"
  if (adapter instanceof MysqlAdapter) return "mysql"
  if (adapter instanceof SqliteAdapter) return "sqlite"
  // Two copies of kysely fail `instanceof`; the class name still tells.
  const name = adapter.constructor.name.toLowerCase()
  if (name.includes("postgres")) return "postgres"
  if (name.includes("mysql")) return "mysql"
  if (name.includes("sqlite")) return "sqlite"
  throw new Error(`unsupported Kysely dialect (${adapter.constructor.name}): use SQLite, PostgreSQL or MySQL`)
}
