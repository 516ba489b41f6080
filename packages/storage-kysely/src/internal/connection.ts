import { type Kysely, type QueryExecutorProvider, sql } from "kysely"
import type { SqlDialect } from "../schema.js"

/** A connection taken out of Kysely's pool (or SQLite's single connection) until `release` is called. */
export interface HeldConnection<DB> {
  readonly conn: Kysely<DB>
  readonly release: () => void
}

/**
 * Takes one connection and keeps it past a callback, so a transaction can span Effect code
 * running in the caller's fiber (with its clock and services) rather than inside a Promise.
 */
export const holdConnection = <DB>(db: Kysely<DB>): Promise<HeldConnection<DB>> =>
  new Promise((resolve, reject) => {
    let release!: () => void
    const released = new Promise<void>((done) => {
      release = done
    })
    db.connection()
      .execute(async (conn) => {
        resolve({ conn, release })
        await released
      })
      .catch(reject)
  })

/**
 * Begins a transaction on a held connection. SQLite takes the write lock up front
 * (`BEGIN IMMEDIATE`): a deferred BEGIN that reads and then writes can deadlock against another
 * process doing the same. MySQL reads committed rows once it holds a lock, like PostgreSQL.
 */
export const begin = async (conn: QueryExecutorProvider, dialect: SqlDialect): Promise<void> => {
  if (dialect === "sqlite") {
    await sql`begin immediate`.execute(conn)
  } else if (dialect === "mysql") {
    await sql`set transaction isolation level read committed`.execute(conn)
    await sql`start transaction`.execute(conn)
  } else {
    await sql`begin`.execute(conn)
  }
}

/** Commits the held connection's transaction. */
export const commit = async (conn: QueryExecutorProvider): Promise<void> => {
  await sql`commit`.execute(conn)
}

/** Rolls back; a failure to roll back (connection gone) is not worth reporting over the original failure. */
export const rollback = async (conn: QueryExecutorProvider): Promise<void> => {
  try {
    await sql`rollback`.execute(conn)
  } catch {
    // The transaction is gone with its connection; nothing of it was committed.
  }
}

/** Runs `work` in one transaction on one held connection (Promise code: outbox operations, batches). */
export const transaction = async <DB, A>(
  db: Kysely<DB>,
  dialect: SqlDialect,
  work: (conn: Kysely<DB>) => Promise<A>,
): Promise<A> => {
  const held = await holdConnection(db)
  try {
    await begin(held.conn, dialect)
    let result: A
    try {
      result = await work(held.conn)
    } catch (error) {
      await rollback(held.conn)
      throw error
    }
    try {
      await commit(held.conn)
    } catch (error) {
      // SQLite keeps the transaction open when COMMIT fails (busy): end it.
      await rollback(held.conn)
      throw error
    }
    return result
  } finally {
    held.release()
  }
}
