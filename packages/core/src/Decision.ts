/**
 * Decisions: may this purpose be used for this subject now, why, and on which event it rests.
 * Pure and synchronous, so the gates on the hot path cost a few map lookups.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Policy from "./Policy.js"
import * as State from "./State.js"
import type { PurposeState, SubjectState } from "./State.js"
import * as Wire from "./wire.js"

/** Why a decision came out as it did (its values defined once, in the effect-free wire entry). */
export const Reason = Schema.Literals(Wire.REASONS)
/** Why a decision came out as it did. */
export type Reason = Wire.Reason

/** Every reason, for exhaustive tests and dashboards. */
export const REASONS: ReadonlyArray<Reason> = Wire.REASONS

/** W3C Data Privacy Vocabulary consent status names. */
export const DpvStatus = Schema.Literals([
  "ConsentGiven",
  "ConsentRefused",
  "ConsentWithdrawn",
  "ConsentExpired",
  "ConsentInvalidated",
  "ConsentUnknown",
  "ConsentRequested",
])
/** W3C Data Privacy Vocabulary consent status names. */
export type DpvStatus = typeof DpvStatus.Type

/** The answer for one subject and purpose. */
export const Decision = Schema.Struct({
  purpose: Schema.String,
  allowed: Schema.Boolean,
  reason: Reason,
  /** The ledger event the decision rests on (for parent_withdrawn, the parent's event); null without one. */
  eventId: Schema.NullOr(Schema.String),
  noticeVersion: Schema.NullOr(Schema.Number),
  /** The W3C DPV status name; null where consent is not the lawful basis. */
  dpv: Schema.NullOr(DpvStatus),
})
/** The answer for one subject and purpose. */
export type Decision = typeof Decision.Type

const DPV: Readonly<Record<Reason, DpvStatus | null>> = {
  granted: "ConsentGiven",
  denied: "ConsentRefused",
  withdrawn: "ConsentWithdrawn",
  expired: "ConsentExpired",
  outdated_version: "ConsentInvalidated",
  no_consent: "ConsentUnknown",
  opt_out_default: "ConsentUnknown",
  parent_withdrawn: "ConsentWithdrawn",
  gpc_opt_out: "ConsentRefused",
  not_required: null,
  guardian_required: "ConsentRequested",
  channel_withdrawn: "ConsentWithdrawn",
}

/** The W3C DPV status name of a reason. */
export const dpvStatus = (reason: Reason): DpvStatus | null => DPV[reason]

const make = (purpose: string, allowed: boolean, reason: Reason, rest?: PurposeState): Decision => ({
  purpose,
  allowed,
  reason,
  eventId: rest?.eventId ?? null,
  noticeVersion: rest?.noticeVersion ?? null,
  dpv: DPV[reason],
})

const refusalReason = (state: PurposeState): Reason =>
  state.source === "gpc" ? "gpc_opt_out" : state.status === "denied" ? "denied" : "withdrawn"

/** Options for `decide`. */
export interface DecideOptions {
  /** Overrides the subject's jurisdiction (e.g. from the request's geo). */
  readonly jurisdiction?: string
  /** Decides as of this instant: the choices made by then, the notice versions and expiries of then. */
  readonly at?: Date
  /**
   * Decides a send on this channel: refused also when the purpose (or an ancestor) was refused
   * on this channel alone (a LINE unfollow, an SMS STOP, an email unsubscribe).
   */
  readonly channel?: string
}

/**
 * Decides one purpose for one subject at `now` (epoch ms). `state` undefined means no events.
 * An unknown purpose is never allowed (it cannot compile through the typed API; this guards
 * untyped callers).
 */
export const decide = (
  policy: Policy.Policy,
  state: SubjectState | undefined,
  purposeId: string,
  now: number,
  options?: DecideOptions,
): Decision => {
  const purpose = policy.purposes.get(purposeId)
  if (!purpose) return make(purposeId, false, "no_consent")
  const whole = decidePurpose(policy, purpose, state, now, options)
  if (!whole.allowed || options?.channel === undefined) return whole
  return channelRefusal(purpose, state?.purposes, options.channel) ?? whole
}

const decidePurpose = (
  policy: Policy.Policy,
  purpose: Policy.Purpose,
  state: SubjectState | undefined,
  now: number,
  options?: DecideOptions,
): Decision => {
  const purposeId = purpose.id
  const basis = purpose.lawfulBasis
  if (basis !== "consent" && basis !== "legitimate_interest") return make(purposeId, true, "not_required")
  const states = state?.purposes
  for (const ancestor of purpose.ancestors) {
    const parent = states?.get(ancestor)
    if (parent && parent.status !== "granted") {
      return make(purposeId, false, parent.source === "gpc" ? "gpc_opt_out" : "parent_withdrawn", parent)
    }
  }
  const own = states?.get(purposeId)
  const jurisdiction = options?.jurisdiction ?? state?.jurisdiction ?? policy.defaultJurisdiction
  if (!own) {
    if (basis === "legitimate_interest") return make(purposeId, true, "not_required")
    return Policy.defaultMode(policy, purpose, jurisdiction) === "opt-out"
      ? make(purposeId, true, "opt_out_default")
      : make(purposeId, false, "no_consent")
  }
  if (own.status !== "granted") return make(purposeId, false, refusalReason(own), own)
  if (basis === "legitimate_interest") return make(purposeId, true, "not_required", own)
  if (own.expiresAt !== null && own.expiresAt.getTime() <= now) return make(purposeId, false, "expired", own)
  if (Policy.isOutdated(purpose, own.noticeVersion, now))
    return make(purposeId, false, "outdated_version", own)
  if (purpose.guardian && state?.age != null) {
    const rule = Policy.guardianRule(policy, jurisdiction, state.age)
    if (rule?.rule === "guardian-only" && own.actor !== "guardian") {
      return make(purposeId, false, "guardian_required", own)
    }
    if (rule?.rule === "guardian-also" && !own.guardianGranted) {
      return make(purposeId, false, "guardian_required", own)
    }
  }
  return make(purposeId, true, "granted", own)
}

/**
 * The refusal of a purpose on one channel, if the purpose or an ancestor was refused on that
 * channel (nearest first); undefined when the channel is open.
 */
const channelRefusal = (
  purpose: Policy.Purpose,
  states: ReadonlyMap<string, PurposeState> | undefined,
  channel: string,
): Decision | undefined => {
  if (!states) return undefined
  for (const id of [purpose.id, ...purpose.ancestors]) {
    const own = states.get(State.keyOf(id, channel))
    if (own && own.status !== "granted") return make(purpose.id, false, "channel_withdrawn", own)
  }
  return undefined
}

/** Decisions for every purpose of the policy. */
export const decideAll = (
  policy: Policy.Policy,
  state: SubjectState | undefined,
  now: number,
  options?: DecideOptions,
): Map<string, Decision> => {
  const out = new Map<string, Decision>()
  for (const id of policy.purposeIds) out.set(id, decide(policy, state, id, now, options))
  return out
}

/** A readable sentence for a decision, for logs, audit trails and error messages. */
export const explain = (decision: Decision): string => {
  switch (decision.reason) {
    case "granted":
      return `consent for "${decision.purpose}" was given (notice version ${decision.noticeVersion})`
    case "denied":
      return `the subject refused "${decision.purpose}"`
    case "withdrawn":
      return `the subject withdrew consent for "${decision.purpose}"`
    case "expired":
      return `consent for "${decision.purpose}" expired; ask again`
    case "outdated_version":
      return `consent for "${decision.purpose}" was given under notice version ${decision.noticeVersion}, which a material change replaced`
    case "no_consent":
      return `no consent for "${decision.purpose}" has been recorded and the default is opt-in`
    case "opt_out_default":
      return `"${decision.purpose}" is allowed by default in this jurisdiction until the subject opts out`
    case "parent_withdrawn":
      return `a parent purpose of "${decision.purpose}" was refused or withdrawn`
    case "gpc_opt_out":
      return `a Global Privacy Control signal opted the subject out of "${decision.purpose}"`
    case "not_required":
      return `"${decision.purpose}" rests on a lawful basis other than consent`
    case "guardian_required":
      return `the subject is a minor: a guardian must consent to "${decision.purpose}"`
    case "channel_withdrawn":
      return `the subject opted out of "${decision.purpose}" on this channel`
  }
}
