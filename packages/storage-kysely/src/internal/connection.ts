import { type Kysely, type QueryExecutorProvider, sql } from "kysely"

/** A connection taken out of Kysely's pool (or SQLite's single connection) until `release` is called. */
export interface HeldConnection<DB> {
  readonly conn: Kysely<DB>
  readonly release: () => void
}

/** How a dialect begins a transaction (its isolation, its locking). */
export type Begin = (conn: QueryExecutorProvider) => Promise<void>

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

/** Holds a connection and begins a transaction on it; the connection goes back if BEGIN fails. */
export const openTransaction = async <DB>(db: Kysely<DB>, begin: Begin): Promise<HeldConnection<DB>> => {
  const held = await holdConnection(db)
  try {
    await begin(held.conn)
  } catch (error) {
    held.release()
    throw error
  }
  return held
}

/** Commits; when COMMIT fails the transaction is rolled back (SQLite keeps it open when busy). */
export const commit = async (conn: QueryExecutorProvider): Promise<void> => {
  try {
    await sql`commit`.execute(conn)
  } catch (error) {
    await rollback(conn)
    throw error
  }
}

/** Rolls back; a failure to roll back (connection gone) is not worth reporting over the original failure. */
export const rollback = async (conn: QueryExecutorProvider): Promise<void> => {
  try {
    await sql`rollback`.execute(conn)
  } catch {
    // The transaction is gone with its connection; nothing of it was committed.
  }
}

/** Runs `work` in one transaction on one held connection (Promise code: outbox operations). */
export const transaction = async <DB, A>(
  db: Kysely<DB>,
  begin: Begin,
  work: (conn: Kysely<DB>) => Promise<A>,
): Promise<A> => {
  const held = await openTransaction(db, begin)
  try {
    let result: A
    try {
      result = await work(held.conn)
    } catch (error) {
      await rollback(held.conn)
      throw error
    }
    await commit(held.conn)
    return result
  } finally {
    held.release()
  }
}
