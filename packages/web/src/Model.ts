/**
 * The preference-center model the server routes answer with (`GET /consent/preferences`), and the
 * pure decisions the banner and the preference center derive from it: what "accept all" and
 * "reject all" record, what a saved form records, whether the banner must ask, which purposes a
 * Global Privacy Control signal covers.
 *
 * @since 0.1.0
 */

import type { DecisionInput, PreferencesModel, PurposeModel, Reason } from "@consentkit/core/wire"

export type {
  ConsentModeState,
  DecisionInput,
  Localized,
  PreferencesModel,
  PurposeModel,
  Reason,
} from "@consentkit/core/wire"

/** Reasons that mean the visitor has not (validly) answered yet, so the banner asks. */
const UNANSWERED: ReadonlySet<Reason> = new Set<Reason>(["no_consent", "outdated_version", "expired"])

/** Purposes the visitor chooses (consent or objection), in the server's order. */
export const choosable = (model: PreferencesModel): Array<PurposeModel> =>
  model.purposes.filter((p) => !p.required)

/** Whether the banner must ask: some choosable purpose has no valid answer. */
export const needsAnswer = (model: PreferencesModel): boolean =>
  choosable(model).some((p) => UNANSWERED.has(p.choice.reason))

/** Purposes a Global Privacy Control signal refuses: the listed ids, or those governing advertising. */
export const gpcPurposes = (model: PreferencesModel, listed?: ReadonlyArray<string>): Array<string> =>
  choosable(model)
    .filter((p) =>
      listed && listed.length > 0 ? listed.includes(p.id) : p.trackerCategories.includes("advertising"),
    )
    .map((p) => p.id)

const refusal = (p: PurposeModel): DecisionInput =>
  p.choice.allowed && p.choice.reason === "granted"
    ? { purpose: p.id, action: "withdraw" }
    : { purpose: p.id, action: "deny", noticeVersion: p.noticeVersion }

/**
 * The decisions a form of wanted purposes records: a grant (under the notice in force) where the
 * visitor turned a purpose on that is not granted under it, a withdrawal where they turned a granted
 * one off, a refusal where they leave an unanswered one off. Purposes already as wanted are left out.
 */
export const decisionsFor = (model: PreferencesModel, wanted: ReadonlySet<string>): Array<DecisionInput> => {
  const out: Array<DecisionInput> = []
  for (const p of choosable(model)) {
    const granted = p.choice.reason === "granted" && p.choice.noticeVersion === p.noticeVersion
    if (wanted.has(p.id)) {
      if (!granted) out.push({ purpose: p.id, action: "grant", noticeVersion: p.noticeVersion })
    } else if (p.choice.reason === "granted") {
      out.push(refusal(p))
    } else if (UNANSWERED.has(p.choice.reason) || p.choice.reason === "opt_out_default") {
      out.push(refusal(p))
    }
  }
  return out
}

/** The key of one channel of a purpose in a form: `purpose#channel`. */
export const channelKey = (purpose: string, channel: string): string => `${purpose}#${channel}`

/** Whether a purpose's channel is closed on its own (a LINE unfollow, an SMS STOP, an earlier choice here). */
export const channelClosed = (p: PurposeModel, channel: string): boolean =>
  p.channelChoices?.some((c) => c.channel === channel && c.reason === "channel_withdrawn") ?? false

/**
 * The channel-level decisions a saved form records, for the purposes the visitor keeps on: a
 * withdrawal of each channel turned off that was open, a grant of each channel turned back on that
 * was closed alone. `closed` holds `channelKey(purpose, channel)` of the channels left off.
 */
export const channelDecisionsFor = (
  model: PreferencesModel,
  wanted: ReadonlySet<string>,
  closed: ReadonlySet<string>,
): Array<DecisionInput> => {
  const out: Array<DecisionInput> = []
  for (const p of choosable(model)) {
    if (!wanted.has(p.id)) continue
    for (const { channel } of p.channelChoices ?? []) {
      const off = closed.has(channelKey(p.id, channel))
      const was = channelClosed(p, channel)
      if (off && !was) out.push({ purpose: p.id, channel, action: "withdraw" })
      else if (!off && was)
        out.push({ purpose: p.id, channel, action: "grant", noticeVersion: p.noticeVersion })
    }
  }
  return out
}

/** "Accept all": every choosable purpose, except those a GPC signal refuses. */
export const acceptAll = (
  model: PreferencesModel,
  refusedByGpc: ReadonlyArray<string> = [],
): Array<DecisionInput> =>
  decisionsFor(
    model,
    new Set(
      choosable(model)
        .map((p) => p.id)
        .filter((id) => !refusedByGpc.includes(id)),
    ),
  )

/** "Reject all": nothing choosable. */
export const rejectAll = (model: PreferencesModel): Array<DecisionInput> => decisionsFor(model, new Set())

/** The refusals a GPC signal records now: GPC purposes the visitor has not answered or that are on by default. */
export const gpcRefusals = (
  model: PreferencesModel,
  refusedByGpc: ReadonlyArray<string>,
): Array<DecisionInput> =>
  choosable(model)
    .filter(
      (p) =>
        refusedByGpc.includes(p.id) &&
        (UNANSWERED.has(p.choice.reason) || p.choice.reason === "opt_out_default"),
    )
    .map(refusal)

/** Whether a purpose is allowed now (an unknown id is not). */
export const allows = (model: PreferencesModel | null, purpose: string): boolean =>
  model?.purposes.find((p) => p.id === purpose)?.choice.allowed ?? false

/** The ids of a purpose's ancestors in the model, nearest first. */
export const ancestorsOf = (model: PreferencesModel, id: string): Array<string> => {
  const byId = new Map(model.purposes.map((p) => [p.id, p]))
  const out: Array<string> = []
  let parent = byId.get(id)?.parent ?? null
  while (parent !== null && !out.includes(parent)) {
    out.push(parent)
    parent = byId.get(parent)?.parent ?? null
  }
  return out
}
