import { StoreError } from "@consentkit/core"
import type { SqlDialect } from "../schema.js"

type Failure = StoreError["code"]

const classify = (code: Failure, isRetryable: boolean) => ({ code, isRetryable })

// Connection-level failures from Node's sockets and the drivers: the call may succeed on another connection.
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
  "ER_QUERY_INTERRUPTED",
  "ECONNABORTED",
])

/** PostgreSQL SQLSTATE codes (also PGlite). */
const fromPostgres = (sqlState: string) => {
  if (sqlState === "40001" || sqlState === "40P01" || sqlState === "55P03") return classify("CONFLICT", true)
  if (
    sqlState.startsWith("08") ||
    sqlState === "57P01" ||
    sqlState === "57P02" ||
    sqlState === "57P03" ||
    sqlState.startsWith("53")
  ) {
    return classify("UNAVAILABLE", true)
  }
  if (sqlState === "57014") return classify("UNAVAILABLE", true)
  if (sqlState.startsWith("23")) return classify("CONSTRAINT", false)
  if (sqlState === "XX001" || sqlState === "XX002") return classify("CORRUPT", false)
  return undefined
}

/** mysql2 error codes (MySQL and MariaDB). */
const fromMysql = (code: string) => {
  if (code === "ER_LOCK_DEADLOCK" || code === "ER_LOCK_WAIT_TIMEOUT" || code === "ER_LOCK_NOWAIT")
    return classify("CONFLICT", true)
  if (
    code === "ER_DUP_ENTRY" ||
    code.startsWith("ER_NO_REFERENCED_ROW") ||
    code.startsWith("ER_ROW_IS_REFERENCED") ||
    code === "ER_BAD_NULL_ERROR"
  ) {
    return classify("CONSTRAINT", false)
  }
  if (code === "ER_CRASHED_ON_USAGE" || code === "ER_NOT_KEYFILE") return classify("CORRUPT", false)
  return undefined
}

/** better-sqlite3 error codes. */
const fromSqlite = (code: string) => {
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

/** Turns a driver failure into core's `StoreError`, with a stable code and whether a retry can help. */
export const toStoreError = (cause: unknown, dialect: SqlDialect, doing: string): StoreError => {
  if (cause instanceof StoreError) return cause
  const error = cause as { code?: unknown; message?: unknown } | null | undefined
  const code = typeof error?.code === "string" ? error.code : ""
  const message = typeof error?.message === "string" ? error.message : String(cause)
  let kind = NETWORK.has(code) ? classify("UNAVAILABLE", true) : undefined
  if (!kind && code) {
    kind =
      dialect === "postgres" ? fromPostgres(code) : dialect === "mysql" ? fromMysql(code) : fromSqlite(code)
  }
  if (
    !kind &&
    /connection (terminated|lost|closed|ended)|not queryable|pool is (closed|ending)|cannot use a pool after calling end/i.test(
      message,
    )
  ) {
    kind = classify("UNAVAILABLE", true)
  }
  const { code: failure, isRetryable } = kind ?? classify("UNKNOWN", false)
  return new StoreError({
    code: failure,
    isRetryable,
    message: `${dialect} store could not ${doing}: ${message}${code ? ` (${code})` : ""}`,
    cause,
  })
}
