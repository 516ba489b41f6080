/**
 * Commands: what callers ask the runtime to record, as Schema. Validation happens once, at the
 * boundary, and a rejected command writes nothing.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Option, Schema, SchemaIssue } from "effect"
import * as Errors from "./Errors.js"
import { canonicalJson } from "./internal/canonical.js"
import { sha256Hex } from "./internal/crypto.js"
import { Action, Actor, Evidence } from "./Ledger.js"
import * as Policy from "./Policy.js"

const MAX_EVIDENCE_BYTES = 8 * 1024
const MAX_EVIDENCE_DEPTH = 16

/** How deeply a JSON value nests (iteratively, so a hostile depth cannot overflow the stack). */
export const depthOf = (value: unknown): number => {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v !== "object" || v === null) continue
    if (depth > deepest) deepest = depth
    if (deepest > 1_000) return deepest
    for (const child of Object.values(v)) stack.push([child, depth + 1])
  }
  return deepest
}
/** How far ahead of the clock a timestamp may be (device clock skew). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000
/** Nothing before this instant is plausible consent data. */
export const EARLIEST = Date.UTC(2000, 0, 1)

const Text = (max: number) => Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(max))

/**
 * Ids are well-formed Unicode (no unpaired surrogates: engines would store them differently, and
 * PostgreSQL would merge two ids into one) in Normalization Form C, so two ids that read the same
 * are the same id. Ids are then compared code point for code point; normalise user-typed ids with
 * `.normalize("NFC")` before passing them.
 */
// With the `u` flag a pair is one code point, so only an unpaired surrogate matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u
const isWellFormedNfc = Schema.makeFilter<string>((s) =>
  LONE_SURROGATE.test(s)
    ? "must be well-formed Unicode (it has an unpaired surrogate)"
    : s.normalize("NFC") !== s
      ? 'must be in Unicode Normalization Form C (normalise it with .normalize("NFC"))'
      : true,
)
/** Text of 1 to `max` characters, well-formed and NFC: the shape of every id. */
const IdText = (max: number) => Text(max).check(isWellFormedNfc)

/** A tenant id: letters, digits, `.`, `_`, `-`, up to 64. */
export const TenantId = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/))
/** A subject id as the host app knows it: 1 to 256 characters, no control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
export const SubjectId = IdText(256).check(Schema.isPattern(/^[^\u0000-\u001f\u007f]+$/))
/** A jurisdiction: ISO 3166 country or region (`TH`, `EU`, `EU-FR`, `US-CA`). */
export const Jurisdiction = Schema.String.check(Schema.isPattern(/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/))
/** An instant: a Date, an ISO 8601 string or epoch milliseconds. */
export const Instant = Schema.Union([
  Schema.Date,
  Schema.String.check(
    Schema.isPattern(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/),
  ),
  Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)),
])

/** One purpose's decision inside a record command. */
export const PurposeDecision = Schema.Struct({
  purpose: IdText(128),
  /** One channel the purpose governs (`line`): the decision is about that channel only. */
  channel: Schema.optional(IdText(32)),
  action: Action,
  /** The notice version shown; required for grants, defaults to the current one otherwise. */
  noticeVersion: Schema.optional(Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))),
})

/** Record one or more decisions of one subject, made at one time through one collection point. */
export const RecordInput = Schema.Struct({
  tenant: TenantId,
  subject: SubjectId,
  decisions: Schema.Array(PurposeDecision).check(Schema.isMinLength(1), Schema.isMaxLength(100)),
  source: Text(64),
  occurredAt: Schema.optional(Instant),
  actor: Schema.optional(Actor),
  evidence: Schema.optional(Evidence),
  jurisdiction: Schema.optional(Jurisdiction),
  age: Schema.optional(Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: 0, maximum: 150 }))),
  /** A retried command with the same key records once and returns the first result. */
  idempotencyKey: Schema.optional(Text(200)),
})
/** The record command as callers write it. */
export type RecordInput = typeof RecordInput.Type

/** A validated record command with defaults filled in. */
export interface ValidRecord {
  readonly tenant: string
  readonly subject: string
  readonly decisions: ReadonlyArray<{
    readonly purpose: string
    /** One channel of the purpose; absent for the whole purpose. */
    readonly channel?: string
    readonly action: Action
    readonly noticeVersion: number
  }>
  readonly source: string
  readonly occurredAt: Date
  readonly actor: Actor
  readonly evidence: Evidence
  readonly jurisdiction: string
  readonly age: number | null
  readonly idempotencyKey: string | null
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** Reads one path segment of a formatted issue (a key, or a `{ key }` segment) as a string or index. */
const segment = (p: PropertyKey | { readonly key: PropertyKey }): string | number =>
  typeof p === "object" ? segment(p.key) : typeof p === "symbol" ? String(p) : p

/** Turns a Schema decoding error into the `InvalidCommand` callers see, one issue per problem. */
export const toInvalidCommand = (error: Schema.SchemaError): Errors.InvalidCommand => {
  const issues: Array<Errors.Issue> = formatter(error.issue).issues.map((i) => ({
    code: "MALFORMED" as const,
    path: (i.path ?? []).map(segment),
    message: i.message,
  }))
  return Errors.InvalidCommand.fromIssues(
    issues.length > 0 ? issues : [{ code: "MALFORMED", path: [], message: "the command could not be read" }],
  )
}

/** Decodes `input` against a command schema as an Effect failing with `InvalidCommand`. */
export const decodeEffect = <S extends Schema.Decoder<unknown>>(
  schema: S,
  input: unknown,
): Effect.Effect<S["Type"], Errors.InvalidCommand> =>
  Schema.decodeUnknownEffect(schema)(input, { errors: "all", onExcessProperty: "error" }).pipe(
    Effect.mapError(toInvalidCommand),
  )

/** Decodes `input` against a schema, turning every problem into an `InvalidCommand` issue. */
export const decode = <S extends Schema.Decoder<unknown>>(
  schema: S,
  input: unknown,
): { ok: true; value: S["Type"] } | { ok: false; error: Errors.InvalidCommand } => {
  const exit = Schema.decodeUnknownExit(schema)(input, { errors: "all", onExcessProperty: "error" })
  if (Exit.isSuccess(exit)) return { ok: true, value: exit.value }
  const failure = Cause.findErrorOption(exit.cause)
  return {
    ok: false,
    error: Option.isSome(failure)
      ? toInvalidCommand(failure.value)
      : Errors.InvalidCommand.fromIssues([
          { code: "MALFORMED", path: [], message: "the command could not be read" },
        ]),
  }
}

/** Reads an instant as epoch ms (NaN for an impossible date such as February 31st). */
export const instantMs = (value: Date | string | number): number => {
  if (value instanceof Date) return value.getTime()
  if (typeof value === "number") return value
  const t = Date.parse(value)
  // Date.parse rolls 2026-02-31 over to March 3rd; a calendar date must read back as written.
  const [y, m, d] = value.slice(0, 10).split("-").map(Number)
  const day = new Date(Date.UTC(y!, m! - 1, d!))
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m! - 1 || day.getUTCDate() !== d) return Number.NaN
  return t
}

/** Sources only the runtime writes; callers use the dedicated commands (GPC signal, link). */
const RESERVED_SOURCES = new Set(["gpc", "link"])

/**
 * Validates a record command against the schema, the policy and the clock (`now`, epoch ms).
 * Every problem is reported at once.
 */
export const validateRecord = (
  policy: Policy.Policy,
  input: unknown,
  now: number,
  options: { readonly allowReservedSource?: boolean } = {},
): { ok: true; value: ValidRecord } | { ok: false; error: Errors.InvalidCommand } => {
  const decoded = decode(RecordInput, input)
  if (!decoded.ok) return decoded
  const cmd = decoded.value
  const issues: Array<Errors.Issue> = []
  const occurredAt = cmd.occurredAt === undefined ? now : instantMs(cmd.occurredAt)
  if (Number.isNaN(occurredAt)) {
    issues.push({ code: "MALFORMED", path: ["occurredAt"], message: "is not a valid date" })
  } else if (occurredAt > now + MAX_CLOCK_SKEW_MS) {
    issues.push({
      code: "FUTURE_TIMESTAMP",
      path: ["occurredAt"],
      message: `${new Date(occurredAt).toISOString()} is in the future (more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead of the clock)`,
    })
  } else if (occurredAt < EARLIEST) {
    issues.push({ code: "TIMESTAMP_TOO_OLD", path: ["occurredAt"], message: "is before 2000-01-01" })
  }
  if (RESERVED_SOURCES.has(cmd.source) && !options.allowReservedSource) {
    issues.push({
      code: "RESERVED_SOURCE",
      path: ["source"],
      message: `"${cmd.source}" is written by consentkit itself; use the dedicated command`,
    })
  }
  const actor = cmd.actor ?? { kind: "subject" as const }
  if (actor.kind !== "subject" && !actor.id) {
    issues.push({
      code: "ACTOR_ID_REQUIRED",
      path: ["actor", "id"],
      message: `a ${actor.kind} must be identified`,
    })
  }
  const evidence = cmd.evidence ?? {}
  if (depthOf(evidence) > MAX_EVIDENCE_DEPTH) {
    issues.push({
      code: "EVIDENCE_TOO_DEEP",
      path: ["evidence"],
      message: `nests deeper than ${MAX_EVIDENCE_DEPTH} levels`,
    })
    return { ok: false, error: Errors.InvalidCommand.fromIssues(issues) }
  }
  const evidenceBytes = new TextEncoder().encode(canonicalJson(evidence)).length
  if (evidenceBytes > MAX_EVIDENCE_BYTES) {
    issues.push({
      code: "EVIDENCE_TOO_LARGE",
      path: ["evidence"],
      message: `is ${evidenceBytes} bytes; the limit is ${MAX_EVIDENCE_BYTES}`,
    })
  }
  const seen = new Set<string>()
  const decisions: Array<ValidRecord["decisions"][number]> = []
  cmd.decisions.forEach((d, i) => {
    const purpose = policy.purposes.get(d.purpose)
    if (!purpose) {
      issues.push({
        code: "UNKNOWN_PURPOSE",
        path: ["decisions", i, "purpose"],
        message: `"${d.purpose}" is not a purpose of this policy (known: ${policy.purposeIds.join(", ")})`,
      })
      return
    }
    if (d.channel !== undefined && !purpose.channels.includes(d.channel)) {
      issues.push({
        code: "UNKNOWN_CHANNEL",
        path: ["decisions", i, "channel"],
        message: `"${d.purpose}" governs no channel "${d.channel}" (its channels: ${purpose.channels.join(", ") || "none"})`,
      })
      return
    }
    const key = d.channel === undefined ? d.purpose : `${d.purpose}#${d.channel}`
    if (seen.has(key)) {
      issues.push({
        code: "DUPLICATE_PURPOSE",
        path: ["decisions", i, "purpose"],
        message: `"${key}" appears twice`,
      })
      return
    }
    seen.add(key)
    let version = d.noticeVersion
    if (version === undefined) {
      if (d.action === "grant") {
        issues.push({
          code: "MISSING_NOTICE_VERSION",
          path: ["decisions", i, "noticeVersion"],
          message: "a grant must name the notice version the subject agreed to",
        })
        return
      }
      version =
        Policy.currentVersion(purpose, Number.isNaN(occurredAt) ? now : occurredAt)?.version ??
        purpose.versions[0]!.version
    }
    const notice = Policy.findVersion(purpose, version)
    if (!notice) {
      issues.push({
        code: "UNKNOWN_NOTICE_VERSION",
        path: ["decisions", i, "noticeVersion"],
        message: `"${d.purpose}" has no notice version ${version} (known: ${purpose.versions.map((v) => v.version).join(", ")})`,
      })
      return
    }
    if (!Number.isNaN(occurredAt) && notice.effectiveAt.getTime() > occurredAt) {
      issues.push({
        code: "NOTICE_NOT_EFFECTIVE",
        path: ["decisions", i, "noticeVersion"],
        message: `version ${version} of "${d.purpose}" takes effect ${notice.effectiveAt.toISOString()}, after the decision`,
      })
      return
    }
    decisions.push(
      d.channel === undefined
        ? { purpose: d.purpose, action: d.action, noticeVersion: version }
        : { purpose: d.purpose, channel: d.channel, action: d.action, noticeVersion: version },
    )
  })
  if (issues.length > 0) return { ok: false, error: Errors.InvalidCommand.fromIssues(issues) }
  return {
    ok: true,
    value: {
      tenant: cmd.tenant,
      subject: cmd.subject,
      decisions,
      source: cmd.source,
      occurredAt: new Date(occurredAt),
      actor,
      evidence,
      jurisdiction: cmd.jurisdiction ?? policy.defaultJurisdiction,
      age: cmd.age ?? null,
      idempotencyKey: cmd.idempotencyKey ?? null,
    },
  }
}

/** Link an alias (e.g. an anonymous visitor id that recorded consent) to a subject. */
export const LinkInput = Schema.Struct({
  tenant: TenantId,
  subject: SubjectId,
  alias: Schema.Struct({ kind: IdText(32), value: SubjectId }),
  /**
   * Merge the consents recorded under the alias as a subject (default true: an anonymous visitor
   * who consented). False for an id that is never a consentkit subject (a GA client id): only the
   * alias is kept, so erasure reaches the provider by it.
   */
  merge: Schema.optional(Schema.Boolean),
})
/** The link command. */
export type LinkInput = typeof LinkInput.Type

/** A Global Privacy Control signal seen on a request. */
export const GpcInput = Schema.Struct({
  tenant: TenantId,
  subject: SubjectId,
  jurisdiction: Jurisdiction,
  occurredAt: Schema.optional(Instant),
  evidence: Schema.optional(Evidence),
  idempotencyKey: Schema.optional(Text(200)),
})
/** The GPC command. */
export type GpcInput = typeof GpcInput.Type

/** An inbound opt-out from a channel (SMS keyword, unsubscribe link, unfollow). */
export const OptOutInput = Schema.Struct({
  tenant: TenantId,
  subject: SubjectId,
  channel: Text(32),
  /** Where it came from: `sms`, `unsubscribe-link`, `line-unfollow`, ... */
  source: Text(64),
  /** Narrow to one purpose (an unsubscribe link names its mail's purpose); default: every purpose of the channel. */
  purpose: Schema.optional(Text(128)),
  occurredAt: Schema.optional(Instant),
  evidence: Schema.optional(Evidence),
  idempotencyKey: Schema.optional(Text(200)),
})
/** The opt-out command. */
export type OptOutInput = typeof OptOutInput.Type

/** Erase a subject. */
export const EraseInput = Schema.Struct({
  tenant: TenantId,
  subject: SubjectId,
  /** Who asked and why, kept (pseudonymously) as proof the erasure was done. */
  requestedBy: Schema.optional(Text(200)),
})
/** The erase command. */
export type EraseInput = typeof EraseInput.Type

/** Addresses one subject (reads: state, history, export, verify). */
export const SubjectRef = Schema.Struct({ tenant: TenantId, subject: SubjectId })
/** A subject reference. */
export type SubjectRef = typeof SubjectRef.Type

/**
 * How a store keeps an idempotency key: scoped to the tenant and subject (a key another subject
 * used finds nothing) and digested, so the key column holds no subject id.
 */
export const storedIdempotencyKey = async (tenant: string, subject: string, key: string): Promise<string> =>
  `k1:${await sha256Hex(`${tenant}\u0000${subject}\u0000${key}`)}`
