/**
 * The policy: the catalog of purposes a brand asks consent for, with their notice versions,
 * lawful basis, lifetime, defaults per jurisdiction, guardian rules and the tracker categories
 * and messenger channels each purpose governs.
 *
 * @since 0.1.0
 */
import { checkShape } from "./internal/policyShape.js"
import { Result } from "effect"
import { decodeIabMapping, type IabMapping } from "./internal/iabMapping.js"
import { GDPR_DIGITAL_CONSENT_AGE, GPC_JURISDICTIONS } from "./internal/jurisdictions.js"
import type { Lifetime } from "./internal/time.js"

export type { Lifetime } from "./internal/time.js"

/** Why processing is lawful; only `consent` (and objections under `legitimate_interest`) need a decision. */
export type LawfulBasis =
  | "consent"
  | "contract"
  | "legitimate_interest"
  | "legal_obligation"
  | "vital_interest"
  | "public_task"

/** Whether silence means no (`opt-in`, TH / EU) or yes until the subject objects (`opt-out`, most US states). */
export type DefaultMode = "opt-in" | "opt-out"

/** A messenger channel; the four built in, or any name an adapter serves. */
export type Channel = "email" | "sms" | "line" | "push" | (string & {})

/** A text in Thai and English (English required; Thai strongly recommended for Thai brands). */
export interface Localized {
  readonly en: string
  readonly th?: string
}

/** One version of the notice a purpose is consented under, as the policy author writes it. */
export interface NoticeVersionInput {
  readonly version: number
  /** When this version takes effect (ISO string or Date). */
  readonly effectiveAt: string | Date
  /** SHA-256 of the notice text shown, so a receipt proves which text was agreed to. */
  readonly textHash: string
  /** A material change: grants under earlier versions stop counting until the subject consents again. */
  readonly material: boolean
  readonly text?: Localized
}

/** A notice version after `Policy.define` normalised it. */
export interface NoticeVersion {
  readonly version: number
  readonly effectiveAt: Date
  readonly textHash: string
  readonly material: boolean
  readonly text?: Localized
}

export { IabMapping } from "./internal/iabMapping.js"
export { GDPR_DIGITAL_CONSENT_AGE, GPC_JURISDICTIONS } from "./internal/jurisdictions.js"

/** How a purpose is declared in `Policy.define`. */
export interface PurposeInput {
  readonly title: Localized
  readonly description?: Localized
  /** Default `consent`. */
  readonly lawfulBasis?: LawfulBasis
  /** At least one version; numbers strictly increasing. */
  readonly versions: ReadonlyArray<NoticeVersionInput>
  /** How long a grant lasts before it expires (e.g. `{ months: 13 }`); none means until withdrawn. */
  readonly lifetime?: Lifetime
  /** Default mode per jurisdiction (`TH`, `EU`, `US-CA`, ...); falls back to the policy's defaults. */
  readonly defaults?: Readonly<Record<string, DefaultMode>>
  /** Minors need a guardian's consent under the jurisdiction's guardian rules (default true: every purpose; set false to opt a purpose out). */
  readonly guardian?: boolean
  /** Sale / sharing / targeted advertising: a Global Privacy Control signal opts the subject out. */
  readonly gpc?: boolean
  /** Messenger channels this purpose governs (withdrawal suppresses them). */
  readonly channels?: ReadonlyArray<Channel>
  /** Tracker categories this purpose governs (withdrawal stops them). */
  readonly trackerCategories?: ReadonlyArray<string>
  /** Kantara receipt fields: what personal data the purpose uses, its category, third parties. */
  readonly piiCategories?: ReadonlyArray<string>
  readonly purposeCategory?: ReadonlyArray<string>
  readonly thirdParty?: string
  /** The TCF purposes and special features this purpose covers (for `@consentkit/iab`). */
  readonly iab?: IabMapping
}

/** A guardian rule: below `under` years, the rule applies. */
export interface GuardianRule {
  readonly under: number
  /** `guardian-only`: only a guardian may consent. `guardian-also`: the subject's consent needs a guardian's too. */
  readonly rule: "guardian-only" | "guardian-also"
}

/** The data controller named on receipts. */
export interface Controller {
  readonly name: string
  readonly contact: string
  readonly email: string
  readonly phone: string
  /** A schema.org PostalAddress: `streetAddress`, `addressLocality`, `addressRegion`, `postalCode`, `addressCountry` (other keys are refused). */
  readonly address: Readonly<Record<string, string>>
  readonly url?: string
}

/** The whole policy as the host app writes it. */
export interface PolicyInput<Purposes extends Record<string, PurposeInput> = Record<string, PurposeInput>> {
  readonly controller: Controller
  readonly policyUrl: string
  /** Where a subject of unknown jurisdiction is taken to be (default `TH`). */
  readonly defaultJurisdiction?: string
  /** Default mode per jurisdiction for every purpose; unknown jurisdictions are opt-in. */
  readonly defaults?: Readonly<Record<string, DefaultMode>>
  /** Guardian rules per jurisdiction; defaults: PDPA (TH) and GDPR Art. 8 per EU country. */
  readonly guardianRules?: Readonly<Record<string, ReadonlyArray<GuardianRule>>>
  /** Jurisdictions where a GPC signal binds; defaults to the US states whose laws require honouring it. */
  readonly gpcJurisdictions?: ReadonlyArray<string>
  readonly purposes: Purposes
}

/** A purpose after normalisation: its id, ancestors and sorted versions. */
export interface Purpose {
  readonly id: string
  readonly title: Localized
  readonly description: Localized | undefined
  readonly lawfulBasis: LawfulBasis
  readonly versions: ReadonlyArray<NoticeVersion>
  readonly lifetime: Lifetime | undefined
  readonly defaults: Readonly<Record<string, DefaultMode>>
  readonly guardian: boolean
  readonly gpc: boolean
  readonly channels: ReadonlyArray<Channel>
  readonly trackerCategories: ReadonlyArray<string>
  /** Ancestor ids, nearest first (`marketing.email.promo` -> `marketing.email`, `marketing`). */
  readonly ancestors: ReadonlyArray<string>
  readonly piiCategories: ReadonlyArray<string>
  readonly purposeCategory: ReadonlyArray<string>
  readonly thirdParty: string | undefined
  readonly iab: IabMapping | undefined
}

/** A validated policy; `P` is the union of its purpose ids, so a misspelt purpose does not compile. */
export interface Policy<P extends string = string> {
  readonly controller: Controller
  readonly policyUrl: string
  readonly defaultJurisdiction: string
  readonly defaults: Readonly<Record<string, DefaultMode>>
  readonly guardianRules: Readonly<Record<string, ReadonlyArray<GuardianRule>>>
  readonly gpcJurisdictions: ReadonlySet<string>
  readonly purposes: ReadonlyMap<P, Purpose>
  readonly purposeIds: ReadonlyArray<P>
}

/** PDPA (TH): under 10 only a guardian may consent; under 20 a guardian must consent too. */
export const PDPA_GUARDIAN_RULES: ReadonlyArray<GuardianRule> = [
  { under: 10, rule: "guardian-only" },
  { under: 20, rule: "guardian-also" },
]

const defaultGuardianRules = (): Record<string, ReadonlyArray<GuardianRule>> => {
  const rules: Record<string, ReadonlyArray<GuardianRule>> = {
    TH: PDPA_GUARDIAN_RULES,
    EU: [{ under: 16, rule: "guardian-only" }],
  }
  for (const [country, age] of Object.entries(GDPR_DIGITAL_CONSENT_AGE)) {
    rules[`EU-${country}`] = [{ under: age, rule: "guardian-only" }]
  }
  return rules
}

/** Default modes: opt-in where consent law requires it, opt-out in US states. */
export const DEFAULT_MODES: Readonly<Record<string, DefaultMode>> = {
  TH: "opt-in",
  EU: "opt-in",
  US: "opt-out",
}

/** Thrown by `define` when the policy itself is inconsistent (a programming error, not user input). */
export class PolicyDefinitionError extends Error {
  override readonly name = "PolicyDefinitionError"
}

const PURPOSE_ID = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/

/**
 * Defines a policy. Purpose ids become a type, so `kit.record({ purpose: "analytcs" })` fails to compile.
 *
 * @example
 * ```ts
 * import { Policy } from "@consentkit/core"
 *
 * const policy = Policy.define({
 *   controller: { name: "Siam Tea", contact: "DPO", email: "dpo@siamtea.example", phone: "+66 2 000 0000", address: { addressCountry: "TH" } },
 *   policyUrl: "https://siamtea.example/privacy",
 *   purposes: {
 *     analytics: { title: { en: "Analytics", th: "การวิเคราะห์" }, versions: [{ version: 1, effectiveAt: "2026-01-01", textHash: "a1", material: true }], trackerCategories: ["analytics"] },
 *   },
 * })
 * ```
 */
export const define = <const Purposes extends Record<string, PurposeInput>>(
  input: PolicyInput<Purposes>,
): Policy<keyof Purposes & string> => {
  type P = keyof Purposes & string
  checkShape(input, (message) => {
    throw new PolicyDefinitionError(message)
  })
  const ids = Object.keys(input.purposes) as Array<P>
  if (ids.length === 0) throw new PolicyDefinitionError("a policy needs at least one purpose")
  const purposes = new Map<P, Purpose>()
  for (const id of ids) {
    if (!PURPOSE_ID.test(id)) {
      throw new PolicyDefinitionError(
        `purpose id "${id}" must be dotted lower-case words (e.g. "marketing.email")`,
      )
    }
    const def = input.purposes[id]!
    // A standing on one channel is kept under `purpose#channel`, in the stores' 128-character key.
    for (const channel of def.channels ?? []) {
      if (channel.length === 0 || channel.includes("#") || id.length + 1 + channel.length > 128) {
        throw new PolicyDefinitionError(
          `purpose "${id}": channel "${channel}" must be a non-empty name without "#", and "${id}#${channel}" at most 128 characters`,
        )
      }
    }
    if (def.versions.length === 0)
      throw new PolicyDefinitionError(`purpose "${id}" needs at least one notice version`)
    const versions = def.versions
      .map((v) => ({ ...v, effectiveAt: new Date(v.effectiveAt) }))
      .sort((a, b) => a.version - b.version)
    for (let i = 0; i < versions.length; i++) {
      const v = versions[i]!
      if (!Number.isInteger(v.version) || v.version < 1) {
        throw new PolicyDefinitionError(`purpose "${id}": notice versions are positive integers`)
      }
      if (Number.isNaN(v.effectiveAt.getTime())) {
        throw new PolicyDefinitionError(`purpose "${id}" version ${v.version}: effectiveAt is not a date`)
      }
      if (i > 0 && versions[i - 1]!.version === v.version) {
        throw new PolicyDefinitionError(`purpose "${id}": version ${v.version} is declared twice`)
      }
    }
    let iab: IabMapping | undefined
    if (def.iab !== undefined) {
      const decoded = decodeIabMapping(def.iab, { errors: "all" })
      if (Result.isFailure(decoded)) {
        throw new PolicyDefinitionError(`purpose "${id}": iab ${decoded.failure.message}`)
      }
      iab = decoded.success
    }
    const ancestors: Array<string> = []
    const parts = id.split(".")
    for (let n = parts.length - 1; n > 0; n--) {
      const parent = parts.slice(0, n).join(".")
      if (parent in input.purposes) ancestors.push(parent)
    }
    purposes.set(id, {
      id,
      title: def.title,
      description: def.description,
      lawfulBasis: def.lawfulBasis ?? "consent",
      versions,
      lifetime: def.lifetime,
      defaults: def.defaults ?? {},
      guardian: def.guardian ?? true,
      gpc: def.gpc ?? false,
      channels: def.channels ?? [],
      trackerCategories: def.trackerCategories ?? [],
      ancestors,
      piiCategories: def.piiCategories ?? [],
      purposeCategory: def.purposeCategory ?? [],
      thirdParty: def.thirdParty,
      iab,
    })
  }
  return {
    controller: input.controller,
    policyUrl: input.policyUrl,
    defaultJurisdiction: input.defaultJurisdiction ?? "TH",
    defaults: { ...DEFAULT_MODES, ...input.defaults },
    guardianRules: { ...defaultGuardianRules(), ...input.guardianRules },
    gpcJurisdictions: new Set(input.gpcJurisdictions ?? GPC_JURISDICTIONS),
    purposes,
    purposeIds: ids,
  }
}

/** Looks a jurisdiction up from most to least specific: `EU-FR`, then `EU`. */
export const lookupJurisdiction = <A>(
  table: Readonly<Record<string, A>>,
  jurisdiction: string,
): A | undefined => {
  const exact = table[jurisdiction]
  if (exact !== undefined) return exact
  const dash = jurisdiction.indexOf("-")
  return dash > 0 ? table[jurisdiction.slice(0, dash)] : undefined
}

/** The default mode of a purpose in a jurisdiction (purpose's own, then the policy's, then opt-in). */
export const defaultMode = (policy: Policy, purpose: Purpose, jurisdiction: string): DefaultMode =>
  lookupJurisdiction(purpose.defaults, jurisdiction) ??
  lookupJurisdiction(policy.defaults, jurisdiction) ??
  "opt-in"

/** The guardian rule for a subject of `age` in a jurisdiction, if any. */
export const guardianRule = (policy: Policy, jurisdiction: string, age: number): GuardianRule | undefined => {
  const rules = lookupJurisdiction(policy.guardianRules, jurisdiction)
  if (!rules) return undefined
  let match: GuardianRule | undefined
  for (const rule of rules) if (age < rule.under && (!match || rule.under < match.under)) match = rule
  return match
}

/** Whether a GPC signal binds in a jurisdiction. */
export const gpcBinds = (policy: Policy, jurisdiction: string): boolean =>
  policy.gpcJurisdictions.has(jurisdiction) ||
  (jurisdiction.includes("-") &&
    policy.gpcJurisdictions.has(jurisdiction.slice(0, jurisdiction.indexOf("-"))))

/** The version in force at an instant: the highest whose effective date has passed. */
export const currentVersion = (purpose: Purpose, at: number): NoticeVersion | undefined => {
  let current: NoticeVersion | undefined
  for (const v of purpose.versions) if (v.effectiveAt.getTime() <= at) current = v
  return current
}

/** Finds a version by number. */
export const findVersion = (purpose: Purpose, version: number): NoticeVersion | undefined =>
  purpose.versions.find((v) => v.version === version)

/**
 * Whether a grant under `version` is outdated at `at`: a material version later than it has
 * taken effect.
 */
export const isOutdated = (purpose: Purpose, version: number, at: number): boolean => {
  for (const v of purpose.versions) {
    if (v.version > version && v.material && v.effectiveAt.getTime() <= at) return true
  }
  return false
}

/** Every purpose governing a channel (e.g. all purposes that suppress `email`). */
export const purposesForChannel = <P extends string>(policy: Policy<P>, channel: Channel): ReadonlyArray<P> =>
  policy.purposeIds.filter((id) => policy.purposes.get(id)!.channels.includes(channel))

/** Every purpose governing a tracker category. */
export const purposesForCategory = <P extends string>(
  policy: Policy<P>,
  category: string,
): ReadonlyArray<P> =>
  policy.purposeIds.filter((id) => policy.purposes.get(id)!.trackerCategories.includes(category))

/** A policy with one more version of a purpose: used to preview the impact of a material change. */
export const withVersion = <P extends string>(
  policy: Policy<P>,
  purposeId: P,
  version: NoticeVersionInput,
): Policy<P> => {
  const purpose = policy.purposes.get(purposeId)
  if (!purpose) throw new PolicyDefinitionError(`unknown purpose "${purposeId}"`)
  const purposes = new Map(policy.purposes)
  purposes.set(purposeId, {
    ...purpose,
    versions: [...purpose.versions, { ...version, effectiveAt: new Date(version.effectiveAt) }].sort(
      (a, b) => a.version - b.version,
    ),
  })
  return { ...policy, purposes }
}
