/**
 * Opening a database from a URL or file path, and the store over it: `sqlite:path`, a
 * `*.sqlite` / `*.db` path or `:memory:`; `postgres://...`; `pglite://memory` or `pglite:./dir`;
 * `mysql://...` (MySQL 8, MariaDB 10.6+). Drivers load on demand, so only the one in use must be
 * installed.
 *
 * @since 0.1.0
 */
import type { AnyKysely } from "./internal/kysely.js"
import type { ConsentStore } from "@consentkit/core"
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from "kysely"
import type { Notifications } from "./internal/notify.js"
import { migrate } from "./migrate.js"
import { PGliteDialect } from "./pglite.js"
import type { SqlDialect } from "./schema.js"
import { type KyselyConsentStore, kyselyStore } from "./store/index.js"

/** Which engine a URL names (PGlite speaks the PostgreSQL dialect). */
export type Engine = "sqlite" | "postgres" | "pglite" | "mysql"

/** Tuning for `openDatabase`. */
export interface OpenOptions {
  /** Connections in the pool (PostgreSQL, MySQL); default 10. */
  readonly poolSize?: number
  /** SQLite: how long a writer waits for another process's write lock (default 5000 ms). */
  readonly busyTimeoutMs?: number
  /** SQLite: `NORMAL` (default; with WAL, durable except on power loss) or `FULL` (fsync every commit). */
  readonly synchronous?: "NORMAL" | "FULL"
}

/** An open database: the Kysely instance, what it is, and how to close it. */
export interface OpenedDatabase {
  readonly db: AnyKysely
  readonly dialect: SqlDialect
  readonly engine: Engine
  /** PostgreSQL server: opens the LISTEN connection that wakes dispatchers. */
  readonly notifications?: Notifications
  /** What the store should declare beyond what its dialect implies. */
  readonly capabilities: Partial<ConsentStore.StoreCapabilities>
  readonly close: () => Promise<void>
}

interface Target {
  readonly engine: Engine
  /** File path, `:memory:`, PGlite data directory (`memory` for none) or server URL. */
  readonly location: string
}

/** Reads a database URL or path. */
export const parseDatabaseUrl = (url: string): Target => {
  const strip = (rest: string) => (rest.startsWith("//") ? rest.slice(2) : rest)
  if (url === ":memory:") return { engine: "sqlite", location: ":memory:" }
  if (url.startsWith("sqlite:"))
    return { engine: "sqlite", location: strip(url.slice("sqlite:".length)) || ":memory:" }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://"))
    return { engine: "postgres", location: url }
  if (url.startsWith("pglite:")) {
    const rest = strip(url.slice("pglite:".length))
    return { engine: "pglite", location: rest === "" || rest === "memory" ? "memory" : rest }
  }
  if (url.startsWith("mysql://")) return { engine: "mysql", location: url }
  if (url.startsWith("mariadb://"))
    return { engine: "mysql", location: `mysql://${url.slice("mariadb://".length)}` }
  if (/\.(sqlite3?|db)$/i.test(url)) return { engine: "sqlite", location: url }
  throw new Error(
    `cannot tell which database "${url}" is: use sqlite:path, a *.sqlite or *.db file, :memory:, postgres://, pglite://memory, pglite:./dir or mysql://`,
  )
}

const load = async <M>(name: string, load: () => Promise<M>): Promise<M> => {
  try {
    return await load()
  } catch (error) {
    throw new Error(`the "${name}" driver is not installed: npm install ${name}`, { cause: error })
  }
}

interface Statement {
  readonly reader: boolean
  all(parameters: ReadonlyArray<unknown>): Array<unknown>
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint }
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown>
}

/** Kysely prepares every query anew; keeping the prepared statements saves most of a small query's cost. */
const cachingStatements = (database: { prepare(sql: string): Statement; close(): void }, size = 256) => {
  const cache = new Map<string, Statement>()
  return {
    prepare: (sql: string): Statement => {
      let statement = cache.get(sql)
      if (statement) {
        cache.delete(sql)
      } else {
        statement = database.prepare(sql)
        if (cache.size >= size) cache.delete(cache.keys().next().value!)
      }
      cache.set(sql, statement)
      return statement
    },
    close: () => database.close(),
  }
}

const openSqlite = async (location: string, options: OpenOptions): Promise<OpenedDatabase> => {
  const { default: Database } = await load("better-sqlite3", () => import("better-sqlite3"))
  const database = new Database(location)
  const memory = location === ":memory:"
  if (!memory) database.pragma("journal_mode = WAL")
  // Deleted rows are overwritten, not just unlinked: an erased subject's bytes do not linger in free pages.
  database.pragma("secure_delete = ON")
  database.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5_000))}`)
  database.pragma(`synchronous = ${options.synchronous ?? "NORMAL"}`)
  database.pragma("cache_size = -65536")
  const db: AnyKysely = new Kysely({
    dialect: new SqliteDialect({ database: cachingStatements(database as never) }),
  })
  return {
    db,
    dialect: "sqlite",
    engine: "sqlite",
    capabilities: { name: "sqlite", multiProcess: !memory },
    close: () => db.destroy(),
  }
}

const openPostgres = async (url: string, options: OpenOptions): Promise<OpenedDatabase> => {
  const { default: pg } = await load("pg", () => import("pg"))
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 })
  // A connection that dies (server restart, pg_terminate_backend) emits "error" on its client;
  // with no listener that would crash the process. The query in flight fails with a retryable
  // StoreError instead, and the pool drops the dead client when it is released.
  pool.on("error", () => undefined)
  pool.on("connect", (client) => {
    client.on("error", () => undefined)
  })
  const db: AnyKysely = new Kysely({ dialect: new PostgresDialect({ pool }) })
  return {
    db,
    dialect: "postgres",
    engine: "postgres",
    notifications: {
      connect: async () => {
        const client = new pg.Client({ connectionString: url })
        client.on("error", () => undefined)
        await client.connect()
        return client as never
      },
    },
    capabilities: { name: "postgres", multiProcess: true },
    close: () => db.destroy(),
  }
}

const openPglite = async (location: string): Promise<OpenedDatabase> => {
  const { PGlite } = await load("@electric-sql/pglite", () => import("@electric-sql/pglite"))
  const pglite = location === "memory" ? await PGlite.create() : await PGlite.create(location)
  const db: AnyKysely = new Kysely({ dialect: new PGliteDialect({ pglite }) })
  return {
    db,
    dialect: "postgres",
    engine: "pglite",
    capabilities: { name: "pglite", multiProcess: false },
    close: async () => {
      await db.destroy()
      await pglite.close()
    },
  }
}

const openMysql = async (url: string, options: OpenOptions): Promise<OpenedDatabase> => {
  const { default: mysql } = await load("mysql2", () => import("mysql2"))
  const pool = mysql.createPool({ uri: url, connectionLimit: options.poolSize ?? 10 })
  // As for PostgreSQL: a connection that dies must fail its query, not crash the process.
  pool.on("connection", (connection) => {
    connection.on("error", () => undefined)
  })
  const db: AnyKysely = new Kysely({ dialect: new MysqlDialect({ pool }) })
  return {
    db,
    dialect: "mysql",
    engine: "mysql",
    capabilities: { name: "mysql", multiProcess: true },
    close: () => db.destroy(),
  }
}

/** Opens a database from a URL or a SQLite file path. */
export const openDatabase = async (url: string, options: OpenOptions = {}): Promise<OpenedDatabase> => {
  const target = parseDatabaseUrl(url)
  switch (target.engine) {
    case "sqlite":
      return openSqlite(target.location, options)
    case "postgres":
      return openPostgres(target.location, options)
    case "pglite":
      return openPglite(target.location)
    case "mysql":
      return openMysql(target.location, options)
  }
}

/** Options of `openStore`. */
export interface OpenStoreOptions extends OpenOptions {
  readonly tablePrefix?: string
  /** Run migrations first (default true). */
  readonly migrate?: boolean
  /** PostgreSQL: record in two round trips (default true; see `KyselyStoreConfig.oneTrip`). */
  readonly oneTrip?: boolean
}

/** An open store and the database under it. */
export interface OpenedStore {
  readonly store: KyselyConsentStore
  readonly database: OpenedDatabase
  /** Closes the store's LISTEN connection and the database. */
  readonly close: () => Promise<void>
}

/** Opens a database from a URL, migrates it and returns the store over it. */
export const openStore = async (url: string, options: OpenStoreOptions = {}): Promise<OpenedStore> => {
  const database = await openDatabase(url, options)
  try {
    if (options.migrate !== false)
      await migrate(database.db, { tablePrefix: options.tablePrefix, dialect: database.dialect })
  } catch (error) {
    await database.close()
    throw error
  }
  const store = kyselyStore({
    db: database.db,
    dialect: database.dialect,
    tablePrefix: options.tablePrefix,
    notifications: database.notifications,
    capabilities: database.capabilities,
    ...(options.oneTrip !== undefined ? { oneTrip: options.oneTrip } : {}),
  })
  return {
    store,
    database,
    close: async () => {
      await store.close()
      await database.close()
    },
  }
}
