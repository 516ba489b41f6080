import { sql } from "kysely"
import { type Classification, classify, type DriverError } from "../../internal/errors.js"
import type { StoreDialect } from "../dialect.js"

// node-postgres and pg-pool raise these as plain Errors with no code (pg/lib/client.js, pg-pool/index.js).
const CONNECTION_GONE = /connection terminated|not queryable|cannot use a pool after calling end/i

/** PostgreSQL SQLSTATE codes (also PGlite's). */
const fromPostgres = ({ code, message }: DriverError): Classification | undefined => {
  if (code === "40001" || code === "40P01" || code === "55P03") return classify("CONFLICT", true)
  if (
    code.startsWith("08") ||
    code.startsWith("53") ||
    code === "57P01" ||
    code === "57P02" ||
    code === "57P03" ||
    code === "57014"
  ) {
    return classify("UNAVAILABLE", true)
  }
  if (code.startsWith("23")) return classify("CONSTRAINT", false)
  if (code === "XX001" || code === "XX002") return classify("CORRUPT", false)
  if (code === "" && CONNECTION_GONE.test(message)) return classify("UNAVAILABLE", true)
  return undefined
}

/** PostgreSQL (server or PGlite): row locks, SKIP LOCKED, RETURNING and, on a server, LISTEN/NOTIFY. */
export const postgres: StoreDialect = {
  name: "postgres",
  supportsSkipLocked: true,
  supportsReturning: true,
  locksSubjectRow: true,
  batchesTransactions: false,
  begin: async (conn) => {
    await sql`begin`.execute(conn)
  },
  upsert: (insert, key, set) => insert.onConflict((oc) => oc.columns(key).doUpdateSet(set as never)),
  insertIfMissing: (insert) => insert.onConflict((oc) => oc.doNothing()),
  dayOf: (column) => sql<number>`${sql.ref(column)} / 86400000`,
  claim: (conn, claimable, lease) =>
    conn
      .with("picked", () => claimable().forUpdate().skipLocked())
      .updateTable("outbox")
      .set((eb) => ({ ...lease, attempts: eb("outbox.attempts", "+", 1) }))
      .from("picked")
      .whereRef("outbox.id", "=", "picked.id")
      .returningAll("outbox")
      .execute(),
  notify: async (conn, channel) => {
    await sql`select pg_notify(${channel}, '')`.execute(conn)
  },
  classify: fromPostgres,
}
