/**
 * The wire shapes the server routes answer with and the browser reads, with no runtime import of
 * Effect: the browser package (`@consentkit/web`) imports its types from here instead of copying them.
 *
 * @since 0.1.0
 */

/** Every reason a decision can come out as it did, in a stable order. */
export const REASONS = [
  "granted",
  "denied",
  "withdrawn",
  "expired",
  "outdated_version",
  "no_consent",
  "opt_out_default",
  "parent_withdrawn",
  "gpc_opt_out",
  "not_required",
  "guardian_required",
  "channel_withdrawn",
] as const

/** Why a decision came out as it did. */
export type Reason = (typeof REASONS)[number]

/** What a subject did about one purpose. */
export type Action = "grant" | "deny" | "withdraw"

/** A text in English and (for Thai brands) Thai. */
export interface Localized {
  readonly en: string
  readonly th?: string
}

/** One purpose as the preference center shows it. */
export interface PurposeModel {
  readonly id: string
  /** The nearest parent purpose (`marketing` for `marketing.email`), or null. */
  readonly parent: string | null
  readonly title: Localized
  readonly description: Localized | null
  readonly lawfulBasis: string
  /** Not the visitor's choice (contract, legal obligation): shown as always on. */
  readonly required: boolean
  /** The notice version in force: a grant names it. */
  readonly noticeVersion: number
  readonly textHash: string
  readonly text: Localized | null
  readonly channels: ReadonlyArray<string>
  readonly trackerCategories: ReadonlyArray<string>
  readonly choice: {
    readonly allowed: boolean
    readonly reason: Reason
    readonly noticeVersion: number | null
  }
  /** Per channel of the purpose: whether a message for it may be sent on that channel now. */
  readonly channelChoices?: ReadonlyArray<{
    readonly channel: string
    readonly allowed: boolean
    readonly reason: Reason
  }>
}

/** Google Consent Mode v2 state as the server maps the visitor's choices. */
export type ConsentModeState = Readonly<Record<string, "granted" | "denied">>

/** `GET <endpoint>/preferences`. */
export interface PreferencesModel {
  readonly locale: string
  readonly identified: boolean
  readonly controller: { readonly name: string; readonly email: string; readonly url: string | null }
  readonly policyUrl: string
  readonly purposes: ReadonlyArray<PurposeModel>
  readonly consentMode: ConsentModeState
}

/** One decision of a record command, as the browser sends it. */
export interface DecisionInput {
  readonly purpose: string
  /** One channel of the purpose (`line`): the decision is about that channel only. */
  readonly channel?: string
  readonly action: Action
  readonly noticeVersion?: number
}
