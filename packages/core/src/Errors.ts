/**
 * The errors consentkit fails with. Each is tagged (match with `Effect.catchTag`), carries a
 * stable UPPER_SNAKE `code` beside a readable message, and says whether a retry can help.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { Decision } from "./Decision.js"

/** Why a command was rejected, one stable code per kind of mistake. */
export type InvalidCode =
  | "MALFORMED"
  | "UNKNOWN_PURPOSE"
  | "DUPLICATE_PURPOSE"
  | "MISSING_NOTICE_VERSION"
  | "UNKNOWN_NOTICE_VERSION"
  | "NOTICE_NOT_EFFECTIVE"
  | "FUTURE_TIMESTAMP"
  | "TIMESTAMP_TOO_OLD"
  | "EVIDENCE_TOO_LARGE"
  | "ACTOR_ID_REQUIRED"
  | "RESERVED_SOURCE"
  | "GUARDIAN_REQUIRED"
  | "UNKNOWN_SUBJECT"

/** One problem found in a command, with where it is. */
export interface Issue {
  readonly code: InvalidCode
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

/** A command failed validation: nothing was written and no intent was sent. */
export class InvalidCommand extends Data.TaggedError("InvalidCommand")<{
  readonly code: InvalidCode
  readonly message: string
  readonly issues: ReadonlyArray<Issue>
}> {
  /** Validation failures never succeed on retry. */
  readonly isRetryable = false

  /** Builds the error from its issues; the message lists each with its path. */
  static fromIssues(issues: ReadonlyArray<Issue>): InvalidCommand {
    const message = issues
      .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
      .join("; ")
    return new InvalidCommand({
      code: issues[0]?.code ?? "MALFORMED",
      message: `invalid command: ${message}`,
      issues,
    })
  }
}

/** Why the store failed. */
export type StoreFailure = "UNAVAILABLE" | "CONFLICT" | "CONSTRAINT" | "CORRUPT" | "UNKNOWN"

/** The store failed; `isRetryable` says whether the same call may succeed later (nothing was committed). */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly code: StoreFailure
  readonly message: string
  readonly isRetryable: boolean
  readonly cause?: unknown
}> {}

/** An adapter failed to apply an intent; the dispatcher retries while `isRetryable`. */
export class AdapterError extends Data.TaggedError("AdapterError")<{
  readonly adapter: string
  readonly message: string
  readonly isRetryable: boolean
  readonly cause?: unknown
}> {
  readonly code = "ADAPTER_FAILED"
}

/** A gate refused: the subject does not allow the purpose (or channel) now. */
export class ConsentRequired extends Data.TaggedError("ConsentRequired")<{
  readonly message: string
  readonly decision: Decision
}> {
  readonly code = "CONSENT_REQUIRED"
  readonly isRetryable = false
}

/** Something asked for does not exist (an erasure request, a dead letter). */
export class NotFound extends Data.TaggedError("NotFound")<{
  readonly message: string
  readonly what: string
}> {
  readonly code = "NOT_FOUND"
  readonly isRetryable = false
}
