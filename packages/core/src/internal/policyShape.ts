/** The shape check behind `Policy.define`: unknown keys and non-http(s) URLs are refused with their path. */

type Fail = (message: string) => never

interface Localized {
  readonly en?: unknown
  readonly th?: unknown
}
interface Shape {
  readonly controller?: { readonly url?: unknown; readonly address?: unknown }
  readonly policyUrl?: unknown
  readonly purposes?: Readonly<
    Record<
      string,
      {
        readonly title?: Localized
        readonly description?: Localized
        readonly lifetime?: unknown
        readonly versions?: ReadonlyArray<{ readonly text?: Localized }>
      }
    >
  >
}

const POLICY_KEYS = [
  "controller",
  "policyUrl",
  "defaultJurisdiction",
  "defaults",
  "guardianRules",
  "gpcJurisdictions",
  "purposes",
]
/** schema.org PostalAddress fields, as the Kantara receipt carries them. */
const ADDRESS_KEYS = [
  "streetAddress",
  "addressLocality",
  "addressRegion",
  "postalCode",
  "addressCountry",
  "postOfficeBoxNumber",
]
const CONTROLLER_KEYS = ["name", "contact", "email", "phone", "address", "url"]
const PURPOSE_KEYS = [
  "title",
  "description",
  "lawfulBasis",
  "versions",
  "lifetime",
  "defaults",
  "guardian",
  "gpc",
  "channels",
  "trackerCategories",
  "piiCategories",
  "purposeCategory",
  "thirdParty",
  "iab",
]
const VERSION_KEYS = ["version", "effectiveAt", "textHash", "material", "text"]
const LOCALIZED_KEYS = ["en", "th"]
const LIFETIME_KEYS = ["months", "days"]

/** Refuses keys a policy does not have (a typo such as `chanels` would silently mean "no channels"). */
const onlyKnownKeys = (value: unknown, known: ReadonlyArray<string>, path: string, fail: Fail): void => {
  if (typeof value !== "object" || value === null) return
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      fail(`${path}.${key} is not a policy field (known at ${path}: ${known.join(", ")})`)
    }
  }
}

/** Refuses a URL that is not http(s) or a path on the site (`/privacy`): the banner and receipts render it as a link. */
const httpUrl = (value: unknown, path: string, fail: Fail): void => {
  if (typeof value === "string" && value.startsWith("/") && !value.startsWith("//") && !value.includes("\\"))
    return
  let url: URL | null = null
  try {
    url = typeof value === "string" ? new URL(value) : null
  } catch {
    url = null
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    fail(`${path} must be an http(s) URL or a path on the site, not ${JSON.stringify(value)}`)
  }
}

/** Checks the shape of what `Policy.define` reads: known keys only, and http(s) URLs. */
export const checkShape = (input: Shape, fail: Fail): void => {
  onlyKnownKeys(input, POLICY_KEYS, "policy", fail)
  onlyKnownKeys(input.controller, CONTROLLER_KEYS, "policy.controller", fail)
  onlyKnownKeys(input.controller?.address, ADDRESS_KEYS, "policy.controller.address", fail)
  httpUrl(input.policyUrl, "policy.policyUrl", fail)
  if (input.controller?.url !== undefined) httpUrl(input.controller.url, "policy.controller.url", fail)
  for (const [id, purpose] of Object.entries(input.purposes ?? {})) {
    const at = `policy.purposes.${id}`
    onlyKnownKeys(purpose, PURPOSE_KEYS, at, fail)
    onlyKnownKeys(purpose.title, LOCALIZED_KEYS, `${at}.title`, fail)
    onlyKnownKeys(purpose.description, LOCALIZED_KEYS, `${at}.description`, fail)
    onlyKnownKeys(purpose.lifetime, LIFETIME_KEYS, `${at}.lifetime`, fail)
    ;(purpose.versions ?? []).forEach((v, i) => {
      onlyKnownKeys(v, VERSION_KEYS, `${at}.versions[${i}]`, fail)
      onlyKnownKeys(v.text, LOCALIZED_KEYS, `${at}.versions[${i}].text`, fail)
    })
  }
}
