/**
 * TCF v2.3 TC strings from a subject's consentkit decisions: which TCF purposes, special features
 * and vendors the decisions grant, and the service-specific TC string (policy version 5, core +
 * disclosed vendors + publisher TC segments) encoded with `@iabtechlabtcf/core`.
 *
 * @since 0.1.0
 */
import type { Decision, Policy } from "@consentkit/core"
import { GVL, TCModel, TCString } from "@iabtechlabtcf/core"
import * as VendorList from "./VendorList.js"

/** How TC strings are made for a site. */
export interface Options {
  /** The CMP id the IAB registered for this CMP. */
  readonly cmpId: number
  /** The CMP's version, bumped whenever the consent UI changes. */
  readonly cmpVersion: number
  /** The Global Vendor List v3 JSON object, or a loader such as `VendorList.fromUrl(url)`. */
  readonly vendorList: VendorList.Source
  /**
   * The vendors this site works with: only they are disclosed and can be consented. Without it,
   * every vendor on the list is.
   */
  readonly vendors?: ReadonlyArray<number>
  /** The publisher's country (ISO 3166-1 alpha-2); default the controller's `address.addressCountry`, else `AA`. */
  readonly publisherCountryCode?: string
  /** The language the consent UI was shown in (ISO 639-1, two letters); default `EN`. */
  readonly consentLanguage?: string
}

/** What a subject's decisions signal under the TCF, as sorted id lists. */
export interface Signals {
  readonly purposeConsents: ReadonlyArray<number>
  readonly purposeLegitimateInterests: ReadonlyArray<number>
  readonly specialFeatureOptins: ReadonlyArray<number>
  readonly vendorConsents: ReadonlyArray<number>
  readonly vendorLegitimateInterests: ReadonlyArray<number>
  readonly vendorsDisclosed: ReadonlyArray<number>
}

/** When the subject first chose and last changed a choice (the ledger's times); default today. */
export interface Dates {
  readonly created?: Date | null
  readonly lastUpdated?: Date | null
}

// TCF v2.2+: Created and LastUpdated are the day (UTC), never a finer time.
const day = (at: Date) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()))

/** Raised when the options cannot make a valid TC string (a bad CMP id, an unknown vendor). */
export class TcfError extends Error {
  override readonly name = "TcfError"
}

const sorted = (ids: Iterable<number>) => [...new Set(ids)].sort((a, b) => a - b)

/**
 * The TCF signals of a subject's decisions. A TCF purpose (or special feature) is consented when
 * a policy purpose mapped onto it (`iab.tcfPurposes`) is allowed; a `legitimate_interest` purpose
 * sets the legitimate-interest bits instead, until the subject objects. A vendor is consented
 * when every purpose it needs consent for, and every special feature it uses, is granted.
 */
export const signalsOf = (
  policy: Policy.Policy,
  decisions: ReadonlyArray<Decision.Decision>,
  vendorList: VendorList.VendorListJson,
  vendors?: ReadonlyArray<number>,
): Signals => {
  const consents = new Set<number>()
  const legitimateInterests = new Set<number>()
  const specialFeatures = new Set<number>()
  for (const decision of decisions) {
    const purpose = policy.purposes.get(decision.purpose)
    if (!purpose?.iab || !decision.allowed) continue
    const target = purpose.lawfulBasis === "legitimate_interest" ? legitimateInterests : consents
    for (const id of purpose.iab.tcfPurposes) target.add(id)
    if (target === consents) for (const id of purpose.iab.specialFeatures ?? []) specialFeatures.add(id)
  }
  const listed = Object.values(vendorList.vendors).filter((v) => !v.deletedDate)
  const byId = new Map(listed.map((v) => [v.id, v]))
  if (vendors) {
    const unknown = vendors.filter((id) => !byId.has(id))
    if (unknown.length > 0) {
      throw new TcfError(
        `vendors ${unknown.join(", ")} are not on vendor list ${vendorList.vendorListVersion} (or were deleted)`,
      )
    }
  }
  const disclosed = vendors ? vendors.map((id) => byId.get(id)!) : listed
  const vendorConsents = disclosed.filter(
    (v) =>
      v.purposes.length > 0 &&
      v.purposes.every((p) => consents.has(p)) &&
      v.specialFeatures.every((f) => specialFeatures.has(f)),
  )
  const vendorLegitimateInterests = disclosed.filter(
    (v) => v.legIntPurposes.length > 0 && v.legIntPurposes.every((p) => legitimateInterests.has(p)),
  )
  return {
    purposeConsents: sorted(consents),
    // TCF v2.2+: purposes 1, 3, 4, 5 and 6 may never rest on legitimate interest.
    purposeLegitimateInterests: sorted([...legitimateInterests].filter((p) => ![1, 3, 4, 5, 6].includes(p))),
    specialFeatureOptins: sorted(specialFeatures),
    vendorConsents: sorted(vendorConsents.map((v) => v.id)),
    vendorLegitimateInterests: sorted(vendorLegitimateInterests.map((v) => v.id)),
    vendorsDisclosed: sorted(disclosed.map((v) => v.id)),
  }
}

const gvls = new WeakMap<VendorList.VendorListJson, GVL>()

const gvlOf = (json: VendorList.VendorListJson): GVL => {
  let gvl = gvls.get(json)
  if (!gvl) {
    VendorList.validate(json)
    // The GVL class copies what it reads; the JSON object itself is never changed.
    gvl = new GVL(structuredClone(json) as unknown as ConstructorParameters<typeof GVL>[0])
    gvls.set(json, gvl)
  }
  return gvl
}

const countryOf = (policy: Policy.Policy, given: string | undefined): string => {
  const country = (given ?? policy.controller.address.addressCountry ?? "").toUpperCase()
  return /^[A-Z]{2}$/.test(country) ? country : "AA"
}

/** The TC model of a subject's decisions, before encoding (for callers that need the IAB library's own object). */
export const modelOf = async (
  options: Options,
  policy: Policy.Policy,
  decisions: ReadonlyArray<Decision.Decision>,
  dates: Dates = {},
): Promise<TCModel> => {
  const json = await VendorList.resolve(options.vendorList)
  const gvl = gvlOf(json)
  const signals = signalsOf(policy, decisions, json, options.vendors)
  const model = new TCModel(gvl)
  if (dates.lastUpdated) model.lastUpdated = day(dates.lastUpdated)
  if (dates.created) model.created = day(dates.created)
  try {
    model.cmpId = options.cmpId
    model.cmpVersion = options.cmpVersion
    model.consentLanguage = (options.consentLanguage ?? "EN").toUpperCase()
    model.publisherCountryCode = countryOf(policy, options.publisherCountryCode)
  } catch (error) {
    throw new TcfError(error instanceof Error ? error.message : String(error))
  }
  // One site's own CMP: the string is service-specific, so it carries the publisher TC segment.
  model.isServiceSpecific = true
  model.purposeConsents.set([...signals.purposeConsents])
  model.purposeLegitimateInterests.set([...signals.purposeLegitimateInterests])
  model.specialFeatureOptins.set([...signals.specialFeatureOptins])
  model.vendorConsents.set([...signals.vendorConsents])
  model.vendorLegitimateInterests.set([...signals.vendorLegitimateInterests])
  model.vendorsDisclosed.set([...signals.vendorsDisclosed])
  // The publisher is the controller whose policy this is: its own purposes carry the same choices.
  model.publisherConsents.set([...signals.purposeConsents])
  model.publisherLegitimateInterests.set([...signals.purposeLegitimateInterests])
  return model
}

/**
 * The TC string of a subject's decisions: TCF v2.3 (policy version 5), service-specific, with the
 * disclosed-vendors segment.
 *
 * @example
 * ```ts
 * import { Tcf } from "@consentkit/iab"
 *
 * const tcString = await Tcf.encode({ cmpId: 300, cmpVersion: 1, vendorList }, kit.policy, await kit.decisions("siamtea", "c-1"))
 * ```
 */
export const encode = async (
  options: Options,
  policy: Policy.Policy,
  decisions: ReadonlyArray<Decision.Decision>,
  dates: Dates = {},
): Promise<string> => TCString.encode(await modelOf(options, policy, decisions, dates))

/** Decodes a TC string with the IAB's library; throws `TcfError` on a string that is not one. */
export const decode = (tcString: string): TCModel => {
  try {
    const model = TCString.decode(tcString)
    if (model.version !== 2) throw new TcfError(`TC string version ${model.version}; only version 2 is read`)
    return model
  } catch (error) {
    if (error instanceof TcfError) throw error
    throw new TcfError(`not a TC string: ${error instanceof Error ? error.message : String(error)}`)
  }
}
