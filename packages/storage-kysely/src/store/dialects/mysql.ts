import { sql } from "kysely"
import { transaction } from "../../internal/connection.js"
import { num } from "../../internal/codec.js"
import { type Classification, classify, type DriverError } from "../../internal/errors.js"
import type { StoreDialect } from "../dialect.js"

// Server error numbers (MySQL and MariaDB share them), for errors mysql2 reports with an errno.
const CONFLICT_ERRNO = new Set([1205, 1213, 3572]) // lock wait timeout, deadlock, NOWAIT
const CONSTRAINT_ERRNO = new Set([1048, 1062, 1216, 1217, 1451, 1452]) // null, duplicate, foreign keys
const CORRUPT_ERRNO = new Set([1034, 1194, 1195]) // bad key file, crashed table
const UNAVAILABLE_ERRNO = new Set([1040, 1053, 1317, 2006, 2013]) // too many connections, shutdown, interrupted, gone
// mysql2's own client-side codes for a connection that dropped.
const CONNECTION_LOST = new Set(["PROTOCOL_CONNECTION_LOST", "PROTOCOL_SEQUENCE_TIMEOUT"])

/** mysql2 errors: the server's errno, mysql2's protocol codes, and `fatal` for a connection that is gone. */
const fromMysql = ({ code, errno, fatal, message }: DriverError): Classification | undefined => {
  if (errno !== undefined && CONFLICT_ERRNO.has(errno)) return classify("CONFLICT", true)
  if (errno !== undefined && CONSTRAINT_ERRNO.has(errno)) return classify("CONSTRAINT", false)
  if (errno !== undefined && CORRUPT_ERRNO.has(errno)) return classify("CORRUPT", false)
  if (errno !== undefined && UNAVAILABLE_ERRNO.has(errno)) return classify("UNAVAILABLE", true)
  if (CONNECTION_LOST.has(code)) return classify("UNAVAILABLE", true)
  if (code === "ER_LOCK_DEADLOCK" || code === "ER_LOCK_WAIT_TIMEOUT" || code === "ER_LOCK_NOWAIT")
    return classify("CONFLICT", true)
  if (
    code === "ER_DUP_ENTRY" ||
    code === "ER_BAD_NULL_ERROR" ||
    /^ER_(NO_REFERENCED|ROW_IS_REFERENCED)/.test(code)
  )
    return classify("CONSTRAINT", false)
  if (code === "ER_CRASHED_ON_USAGE" || code === "ER_NOT_KEYFILE") return classify("CORRUPT", false)
  if (code === "ER_CON_COUNT_ERROR" || code === "ER_SERVER_SHUTDOWN" || code === "ER_QUERY_INTERRUPTED")
    return classify("UNAVAILABLE", true)
  // mysql2 marks errors that closed the connection as fatal, often without a code.
  if (fatal) return classify("UNAVAILABLE", true)
  // mysql2's pool raises "Pool is closed." with no code and no fatal flag (mysql2/lib/base/pool.js).
  if (code === "" && /^pool is closed/i.test(message)) return classify("UNAVAILABLE", true)
  return undefined
}

/** MySQL and MariaDB: row locks and SKIP LOCKED, no RETURNING, upserts by ON DUPLICATE KEY UPDATE. */
export const mysql: StoreDialect = {
  name: "mysql",
  supportsSkipLocked: true,
  supportsReturning: false,
  locksSubjectRow: true,
  batchesTransactions: false,
  // Read committed: once it holds a lock a transaction reads the rows committed before it, like PostgreSQL.
  begin: async (conn) => {
    await sql`set transaction isolation level read committed`.execute(conn)
    await sql`start transaction`.execute(conn)
  },
  upsert: (insert, _key, set) => insert.onDuplicateKeyUpdate(set as never),
  // ON DUPLICATE KEY UPDATE takes the row's exclusive lock where INSERT IGNORE would take a shared one (and deadlock on upgrade).
  insertIfMissing: (insert, touch) => insert.onDuplicateKeyUpdate(touch as never),
  dayOf: (column) => sql<number>`${sql.ref(column)} div 86400000`,
  // MySQL cannot update a table it selects from in a subquery, and its locking clause must not
  // reach the order check: pick candidates, then lock those still free, skipping locked ones.
  claim: (conn, claimable, lease, now) =>
    transaction(conn, mysql.begin, async (tx) => {
      const candidates = (await claimable().execute()).map((r) => num(r.id))
      if (candidates.length === 0) return []
      const locked = (
        await tx
          .selectFrom("outbox")
          .select("id")
          .where("id", "in", candidates)
          .where("status", "=", "pending")
          .where("lease_until", "<=", now)
          .where("available_at", "<=", now)
          .forUpdate()
          .skipLocked()
          .execute()
      ).map((r) => num(r.id))
      if (locked.length === 0) return []
      await tx
        .updateTable("outbox")
        .set((eb) => ({ ...lease, attempts: eb("attempts", "+", 1) }))
        .where("id", "in", locked)
        .execute()
      return tx.selectFrom("outbox").selectAll().where("id", "in", locked).execute()
    }),
  classify: fromMysql,
}
