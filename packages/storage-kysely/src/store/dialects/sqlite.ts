import { sql } from "kysely"
import { type Classification, classify, type DriverError } from "../../internal/errors.js"
import type { StoreDialect } from "../dialect.js"

/** better-sqlite3's codes (extended codes such as `SQLITE_BUSY_SNAPSHOT` share their primary's prefix). */
const fromSqlite = ({ code }: DriverError): Classification | undefined => {
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return classify("CONFLICT", true)
  if (code.startsWith("SQLITE_CONSTRAINT")) return classify("CONSTRAINT", false)
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") return classify("CORRUPT", false)
  if (
    code.startsWith("SQLITE_IOERR") ||
    code.startsWith("SQLITE_CANTOPEN") ||
    code === "SQLITE_FULL" ||
    code.startsWith("SQLITE_READONLY")
  ) {
    return classify("UNAVAILABLE", code.startsWith("SQLITE_IOERR"))
  }
  return undefined
}

/** SQLite: one writer at a time, so BEGIN IMMEDIATE is the subject lock and claims need no SKIP LOCKED. */
export const sqlite: StoreDialect = {
  name: "sqlite",
  supportsSkipLocked: false,
  supportsReturning: true,
  locksSubjectRow: false,
  batchesTransactions: true,
  // Takes the write lock up front: a deferred BEGIN that reads and then writes can deadlock
  // against another process doing the same.
  begin: async (conn) => {
    await sql`begin immediate`.execute(conn)
  },
  upsert: (insert, key, set) => insert.onConflict((oc) => oc.columns(key).doUpdateSet(set as never)),
  insertIfMissing: (insert) => insert.onConflict((oc) => oc.doNothing()),
  dayOf: (column) => sql<number>`${sql.ref(column)} / 86400000`,
  claim: (conn, claimable, lease) =>
    conn
      .updateTable("outbox")
      .set((eb) => ({ ...lease, attempts: eb("attempts", "+", 1) }))
      .where("id", "in", claimable())
      .returningAll()
      .execute(),
  classify: fromSqlite,
}
