/**
 * A Kysely dialect for PGlite (PostgreSQL compiled to WebAssembly, in process): PostgreSQL's
 * adapter, compiler and introspector over one serialized connection.
 *
 * @since 0.1.0
 */
import type { AnyKysely } from "./internal/kysely.js"
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
} from "kysely"

/** What the dialect needs of a PGlite instance (its `query`), so these types do not require PGlite installed. */
export interface PGliteLike {
  readonly query: <R>(
    sql: string,
    params?: Array<unknown>,
  ) => Promise<{ readonly rows: Array<R>; readonly affectedRows?: number | null }>
}

/** How to reach the PGlite instance: the instance, or a function that opens it on first use. */
export interface PGliteDialectConfig {
  readonly pglite: PGliteLike | (() => Promise<PGliteLike>)
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly pglite: PGliteLike) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(query.sql, [...query.parameters])
    return {
      rows: result.rows,
      ...(result.affectedRows !== undefined && result.affectedRows !== null
        ? { numAffectedRows: BigInt(result.affectedRows) }
        : {}),
    }
  }

  // biome-ignore lint/correctness/useYield: PGlite returns whole results; streaming is not offered.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("PGlite dialect: streaming queries are not supported")
  }
}

class PGliteDriver implements Driver {
  #connection: PGliteConnection | undefined
  // One connection, handed out one holder at a time (a transaction keeps it until released).
  #queue: Promise<void> = Promise.resolve()
  #release: (() => void) | undefined

  constructor(private readonly config: PGliteDialectConfig) {}

  async init(): Promise<void> {
    const pglite = typeof this.config.pglite === "function" ? await this.config.pglite() : this.config.pglite
    this.#connection = new PGliteConnection(pglite)
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#queue
    let release!: () => void
    this.#queue = new Promise((resolve) => {
      release = resolve
    })
    await previous
    this.#release = release
    return this.#connection!
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin"))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"))
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"))
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release
    this.#release = undefined
    release?.()
  }

  async destroy(): Promise<void> {
    // The instance belongs to whoever opened it (see `openDatabase`, which closes it).
  }
}

/** The PGlite dialect: `new Kysely({ dialect: new PGliteDialect({ pglite }) })`. */
export class PGliteDialect implements Dialect {
  constructor(private readonly config: PGliteDialectConfig) {}

  createAdapter(): DialectAdapter {
    return new PostgresAdapter()
  }

  createDriver(): Driver {
    return new PGliteDriver(this.config)
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }

  createIntrospector(db: AnyKysely): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }
}
