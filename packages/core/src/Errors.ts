/**
 * The errors consentkit fails with, as Schema tagged error classes. Each is tagged (match with
 * `Effect.catchTag`), carries a stable UPPER_SNAKE `code` from a closed union beside a readable
 * message, and says whether a retry can help (`isRetryable`, data: a field or fixed by the class).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { Decision } from "./Decision.js"

/** Why a command was rejected, one stable code per kind of mistake. */
export const InvalidCode = Schema.Literals([
  "MALFORMED",
  "UNKNOWN_PURPOSE",
  "DUPLICATE_PURPOSE",
  "MISSING_NOTICE_VERSION",
  "UNKNOWN_NOTICE_VERSION",
  "NOTICE_NOT_EFFECTIVE",
  "FUTURE_TIMESTAMP",
  "TIMESTAMP_TOO_OLD",
  "EVIDENCE_TOO_LARGE",
  "EVIDENCE_TOO_DEEP",
  "ACTOR_ID_REQUIRED",
  "RESERVED_SOURCE",
  "GUARDIAN_REQUIRED",
  "UNKNOWN_SUBJECT",
  "UNKNOWN_CHANNEL",
])
/** Why a command was rejected. */
export type InvalidCode = typeof InvalidCode.Type

/** One problem found in a command, with where it is. */
export const Issue = Schema.Struct({
  code: InvalidCode,
  path: Schema.Array(Schema.Union([Schema.String, Schema.Number])),
  message: Schema.String,
})
/** One problem found in a command. */
export type Issue = typeof Issue.Type

/** A command failed validation: nothing was written and no intent was sent. */
export class InvalidCommand extends Schema.TaggedError<InvalidCommand>()("InvalidCommand", {
  code: InvalidCode,
  message: Schema.String,
  issues: Schema.Array(Issue),
}) {
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
export const StoreFailure = Schema.Literals(["UNAVAILABLE", "CONFLICT", "CONSTRAINT", "CORRUPT", "UNKNOWN"])
/** Why the store failed. */
export type StoreFailure = typeof StoreFailure.Type

/** The store failed; `isRetryable` says whether the same call may succeed later (nothing was committed). */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  code: StoreFailure,
  message: Schema.String,
  isRetryable: Schema.Boolean,
  cause: Schema.optional(Schema.Unknown),
}) {}

/** An adapter failed to apply an intent; the dispatcher retries while `isRetryable`. */
export class AdapterError extends Schema.TaggedError<AdapterError>()("AdapterError", {
  adapter: Schema.String,
  message: Schema.String,
  isRetryable: Schema.Boolean,
  cause: Schema.optional(Schema.Unknown),
}) {
  readonly code = "ADAPTER_FAILED" as const
}

/** A decision carried by an error, checked structurally (the decision itself is plain data). */
const DecisionValue = Schema.declare(
  (u: unknown): u is Decision => typeof u === "object" && u !== null && "allowed" in u && "reason" in u,
)

/** A gate refused: the subject does not allow the purpose (or channel) now. */
export class ConsentRequired extends Schema.TaggedError<ConsentRequired>()("ConsentRequired", {
  message: Schema.String,
  decision: DecisionValue,
}) {
  readonly code = "CONSENT_REQUIRED" as const
  readonly isRetryable = false
}

/** Something asked for does not exist (an erasure request, a dead letter). */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String,
  what: Schema.String,
}) {
  readonly code = "NOT_FOUND" as const
  readonly isRetryable = false
}
