/**
 * @consentkit/consent-mode: Google Consent Mode v2 from consentkit decisions. Maps a subject's
 * choices to the seven consent types for `gtag("consent", "default" | "update", ...)`, with
 * region defaults, and to the Measurement Protocol's `consent` field. Plain functions over plain
 * data, no runtime dependencies, so a browser banner can import it without the Effect runtime.
 *
 * @since 0.1.0
 */

/** The seven Consent Mode v2 consent types. */
export type ConsentType =
  | "ad_storage"
  | "ad_user_data"
  | "ad_personalization"
  | "analytics_storage"
  | "functionality_storage"
  | "personalization_storage"
  | "security_storage"

/** Every consent type, in Google's documented order. */
export const CONSENT_TYPES: ReadonlyArray<ConsentType> = [
  "ad_storage",
  "ad_user_data",
  "ad_personalization",
  "analytics_storage",
  "functionality_storage",
  "personalization_storage",
  "security_storage",
]

/** A consent type's value as gtag takes it. */
export type ConsentValue = "granted" | "denied"

/** A value for every consent type. */
export type ConsentState = { readonly [T in ConsentType]: ConsentValue }

/** One purpose's standing, as consentkit decides it, with the tracker categories the purpose governs. */
export interface Choice {
  readonly purpose: string
  readonly allowed: boolean
  readonly categories?: ReadonlyArray<string>
}

/**
 * What governs one consent type: the purposes and/or tracker categories whose choices it follows
 * (granted only when at least one matches and every match is allowed), or a fixed value.
 */
export type Rule =
  | { readonly purposes?: ReadonlyArray<string>; readonly categories?: ReadonlyArray<string> }
  | ConsentValue

/** A rule per consent type. */
export type Mapping = { readonly [T in ConsentType]: Rule }

/**
 * The default mapping by tracker category: `analytics` → analytics_storage; `advertising` → the
 * three ad types; `functionality` and `personalization` → their storage types; security_storage is
 * always granted (it covers storage needed for security, which needs no consent).
 */
export const DEFAULT_MAPPING: Mapping = {
  ad_storage: { categories: ["advertising"] },
  ad_user_data: { categories: ["advertising"] },
  ad_personalization: { categories: ["advertising"] },
  analytics_storage: { categories: ["analytics"] },
  functionality_storage: { categories: ["functionality"] },
  personalization_storage: { categories: ["personalization"] },
  security_storage: "granted",
}

/** A mapping with some types overridden (e.g. `{ functionality_storage: "granted" }`). */
export const mapping = (overrides: Partial<Mapping>): Mapping => ({ ...DEFAULT_MAPPING, ...overrides })

const matches = (rule: Exclude<Rule, ConsentValue>, choice: Choice): boolean =>
  (rule.purposes?.includes(choice.purpose) ?? false) ||
  (rule.categories !== undefined && (choice.categories ?? []).some((c) => rule.categories!.includes(c)))

/** The consent state a subject's choices imply. */
export const fromChoices = (choices: ReadonlyArray<Choice>, map: Mapping = DEFAULT_MAPPING): ConsentState => {
  const state = {} as Record<ConsentType, ConsentValue>
  for (const type of CONSENT_TYPES) {
    const rule = map[type]
    if (typeof rule === "string") {
      state[type] = rule
      continue
    }
    const matched = choices.filter((c) => matches(rule, c))
    state[type] = matched.length > 0 && matched.every((c) => c.allowed) ? "granted" : "denied"
  }
  return state
}

/**
 * Adds each purpose's tracker categories to decisions, from a policy (structurally: anything with
 * `purposes: Map<id, { trackerCategories }>`, such as consentkit's `Policy`).
 */
export const withCategories = (
  decisions: ReadonlyArray<{ readonly purpose: string; readonly allowed: boolean }>,
  policy: { readonly purposes: ReadonlyMap<string, { readonly trackerCategories: ReadonlyArray<string> }> },
): Array<Choice> =>
  decisions.map((d) => ({
    purpose: d.purpose,
    allowed: d.allowed,
    categories: policy.purposes.get(d.purpose)?.trackerCategories ?? [],
  }))

/** The default state for a set of regions (ISO 3166-1 / 3166-2 codes); no regions = everywhere else. */
export interface RegionDefault {
  readonly regions?: ReadonlyArray<string>
  /** The value of every consent type the mapping does not fix, or values per type. */
  readonly state: ConsentValue | Partial<ConsentState>
  /** Milliseconds gtag waits for an `update` before sending (Google's `wait_for_update`). */
  readonly waitForUpdate?: number
}

/** EU member states. */
export const EU: ReadonlyArray<string> = [
  "AT",
  "BE",
  "BG",
  "CY",
  "CZ",
  "DE",
  "DK",
  "EE",
  "ES",
  "FI",
  "FR",
  "GR",
  "HR",
  "HU",
  "IE",
  "IT",
  "LT",
  "LU",
  "LV",
  "MT",
  "NL",
  "PL",
  "PT",
  "RO",
  "SE",
  "SI",
  "SK",
]

/** The EEA (EU plus Iceland, Liechtenstein, Norway), the UK and Switzerland: where Google requires consent signals. */
export const EEA_UK: ReadonlyArray<string> = [...EU, "IS", "LI", "NO", "GB", "CH"]

/**
 * Region defaults: denied in the EEA, the UK and Thailand (opt-in law), granted in the US (opt-out
 * law) while waiting for an update, denied everywhere else until the banner answers.
 */
export const DEFAULT_REGIONS: ReadonlyArray<RegionDefault> = [
  { regions: [...EEA_UK, "TH"], state: "denied", waitForUpdate: 500 },
  { regions: ["US"], state: "granted", waitForUpdate: 500 },
  { state: "denied", waitForUpdate: 500 },
]

/** Parameters of a gtag consent command. */
export type GtagConsentParams = Partial<Record<ConsentType, ConsentValue>> & {
  readonly region?: ReadonlyArray<string>
  readonly wait_for_update?: number
}

/** A gtag consent command: `gtag(...command)`. */
export type GtagConsentCommand = readonly ["consent", "default" | "update", GtagConsentParams]

/** The `gtag("consent", "default", ...)` commands for the region defaults; types the mapping fixes keep their value. */
export const defaultCommands = (
  options: { readonly regions?: ReadonlyArray<RegionDefault>; readonly mapping?: Mapping } = {},
): Array<GtagConsentCommand> => {
  const map = options.mapping ?? DEFAULT_MAPPING
  return (options.regions ?? DEFAULT_REGIONS).map((r) => {
    const params: Record<string, unknown> = {}
    for (const type of CONSENT_TYPES) {
      const rule = map[type]
      params[type] =
        typeof rule === "string" ? rule : typeof r.state === "string" ? r.state : (r.state[type] ?? "denied")
    }
    if (r.regions && r.regions.length > 0) params.region = [...r.regions]
    if (r.waitForUpdate !== undefined) params.wait_for_update = r.waitForUpdate
    return ["consent", "default", params as GtagConsentParams] as const
  })
}

/** The `gtag("consent", "update", ...)` command for a subject's choices. */
export const updateCommand = (
  choices: ReadonlyArray<Choice>,
  map: Mapping = DEFAULT_MAPPING,
): GtagConsentCommand => ["consent", "update", fromChoices(choices, map)]

/** The Measurement Protocol's `consent` field (GA4 server-side events), from a consent state. */
export const measurementProtocolConsent = (
  state: ConsentState,
): { readonly ad_user_data: "GRANTED" | "DENIED"; readonly ad_personalization: "GRANTED" | "DENIED" } => ({
  ad_user_data: state.ad_user_data === "granted" ? "GRANTED" : "DENIED",
  ad_personalization: state.ad_personalization === "granted" ? "GRANTED" : "DENIED",
})

/**
 * An inline script that defines `gtag` and runs the commands, for a server-rendered page to put
 * before the Google tag. `<` is escaped so a value can never close the script element.
 */
export const toScript = (commands: ReadonlyArray<GtagConsentCommand>): string => {
  const calls = commands.map((c) => `gtag(${c.map((part) => JSON.stringify(part)).join(",")});`).join("")
  return `window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}${calls}`.replace(
    /</g,
    "\\u003c",
  )
}
