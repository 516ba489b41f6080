import { StoreError } from "@consentkit/core"
import type { SqlDialect } from "../schema.js"

type Failure = StoreError["code"]

/** A failure's stable code, and whether running the call again can help. */
export interface Classification {
  readonly code: Failure
  readonly isRetryable: boolean
}

/** The fields drivers put on their errors: a code (SQLSTATE, mysql2 or SQLite code, Node's), mysql2's errno and fatal. */
export interface DriverError {
  readonly code: string
  readonly errno: number | undefined
  readonly fatal: boolean
  readonly message: string
}

/** A classification. */
export const classify = (code: Failure, isRetryable: boolean): Classification => ({ code, isRetryable })

// Connection-level failures from Node's sockets: the call may succeed on another connection.
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ECONNABORTED",
])

const driverError = (cause: unknown): DriverError => {
  const error = (typeof cause === "object" && cause !== null ? cause : {}) as {
    code?: unknown
    errno?: unknown
    fatal?: unknown
    message?: unknown
  }
  return {
    code: typeof error.code === "string" ? error.code : "",
    errno: typeof error.errno === "number" ? error.errno : undefined,
    fatal: error.fatal === true,
    message: typeof error.message === "string" ? error.message : String(cause),
  }
}

/** Classifies Node's own socket and DNS errors, which any driver may pass through. */
const fromNode = (error: DriverError): Classification | undefined =>
  NETWORK.has(error.code) ? classify("UNAVAILABLE", true) : undefined

/**
 * Turns a driver failure into core's `StoreError`, with a stable code and whether a retry can
 * help: by the dialect's driver codes first, then Node's.
 */
export const toStoreError = (
  cause: unknown,
  dialect: {
    readonly name: SqlDialect
    readonly classify: (error: DriverError) => Classification | undefined
  },
  doing: string,
): StoreError => {
  if (cause instanceof StoreError) return cause
  const error = driverError(cause)
  const kind = dialect.classify(error) ?? fromNode(error)
  const { code: failure, isRetryable } = kind ?? classify("UNKNOWN", false)
  return new StoreError({
    code: failure,
    isRetryable,
    message: `${dialect.name} store could not ${doing}: ${error.message}${error.code ? ` (${error.code})` : ""}`,
    cause,
  })
}
