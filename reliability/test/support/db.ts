import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type KyselyConsentStore, type OpenStoreOptions, openStore } from "@consentkit/storage-kysely"
import { type Kysely, sql } from "kysely"

/** The PostgreSQL server the suite runs against, when set. */
export const PG_URL = process.env.CONSENTKIT_PG_URL?.trim() || undefined

/** The engines the suite covers (PGlite, in process, where a suite stands in for an unset PostgreSQL). */
export type DialectName = "sqlite" | "postgres" | "pglite"

/** SQLite always; PostgreSQL when `CONSENTKIT_PG_URL` is set (and then it must run: CI fails on skips). */
export const DIALECTS: ReadonlyArray<{ readonly name: DialectName; readonly enabled: boolean }> = [
  { name: "sqlite", enabled: true },
  { name: "postgres", enabled: PG_URL !== undefined },
]

/** A store on its own tables: a fresh SQLite file, or a random table prefix on the shared PostgreSQL. */
export interface TestDatabase {
  readonly dialect: DialectName
  /** What a child process passes to `openStore`. */
  readonly url: string
  readonly prefix: string
  readonly store: KyselyConsentStore
  /** The Kysely instance without the store's prefix plugin, for raw SQL. */
  readonly db: Kysely<any>
  /** A prefixed table name as an SQL identifier. */
  readonly table: (name: string) => ReturnType<typeof sql.table>
  /** Every table of this prefix (the store's and the test's own). */
  readonly tables: () => Promise<ReadonlyArray<string>>
  /** Closes the store and drops every table of the prefix (PostgreSQL) or the file (SQLite). */
  readonly dispose: () => Promise<void>
}

const randomPrefix = () =>
  `rel_${Math.random()
    .toString(36)
    .slice(2, 10)
    .replace(/[^a-z0-9]/g, "x")}_`

/** Opens and migrates a store of its own on `dialect`. */
export const openTestDatabase = async (
  dialect: DialectName,
  options: Omit<OpenStoreOptions, "tablePrefix"> = {},
): Promise<TestDatabase> => {
  const prefix = randomPrefix()
  const folder = dialect === "sqlite" ? mkdtempSync(join(tmpdir(), "consentkit-rel-")) : null
  const url = folder
    ? `sqlite:${join(folder, "store.sqlite")}`
    : dialect === "pglite"
      ? "pglite://memory"
      : PG_URL!
  const opened = await openStore(url, { ...options, tablePrefix: prefix })
  const db = opened.database.db
  const tables = async (): Promise<ReadonlyArray<string>> => {
    const rows =
      dialect === "sqlite"
        ? await sql<{
            name: string
          }>`select name from sqlite_master where type = 'table' and substr(name, 1, ${prefix.length}) = ${prefix}`.execute(
            db,
          )
        : await sql<{
            name: string
          }>`select tablename as name from pg_tables where schemaname = current_schema() and left(tablename, ${prefix.length}) = ${prefix}`.execute(
            db,
          )
    return rows.rows.map((r) => r.name).sort()
  }
  return {
    dialect,
    url,
    prefix,
    store: opened.store,
    db,
    table: (name) => sql.table(`${prefix}${name}`),
    tables,
    dispose: async () => {
      try {
        if (dialect === "postgres") {
          for (const name of await tables())
            await sql`drop table if exists ${sql.table(name)} cascade`.execute(db)
        }
      } finally {
        await opened.close()
        if (folder) rmSync(folder, { recursive: true, force: true })
      }
    },
  }
}

/** Runs `test` against a fresh database and always disposes of it. */
export const withDatabase = async <A>(
  dialect: DialectName,
  test: (database: TestDatabase) => Promise<A>,
  options?: Omit<OpenStoreOptions, "tablePrefix">,
): Promise<A> => {
  const database = await openTestDatabase(dialect, options)
  try {
    return await test(database)
  } finally {
    await database.dispose()
  }
}

/** A count from a `count(*)` row (pg returns bigint counts as strings). */
export const count = async (query: Promise<{ rows: ReadonlyArray<{ n: unknown }> }>): Promise<number> =>
  Number((await query).rows[0]?.n ?? 0)
