/**
 * GPP strings (IAB Global Privacy Platform) from a TC string and a subject's sale / sharing
 * opt-outs: the TCF EU v2 section is the TC string itself, and US jurisdictions add a US National
 * (`usnat`) section with the opt-outs and the Global Privacy Control signal. Encoded with
 * `@iabgpp/cmpapi`.
 *
 * @since 0.1.0
 */
import type { Decision, Policy } from "@consentkit/core"
import { GppModel, TcfEuV2, UsNat } from "@iabgpp/cmpapi"

/** The GPP section id of TCF EU v2. */
export const TCF_EU_V2 = TcfEuV2.ID
/** The GPP section id of US National. */
export const US_NATIONAL = UsNat.ID

/** Whether a consentkit jurisdiction (`US`, `US-CA`) is in the United States. */
export const isUs = (jurisdiction: string | null | undefined): boolean =>
  jurisdiction === "US" || (jurisdiction?.startsWith("US-") ?? false)

/** A subject's US opt-outs: null where the policy has no purpose they apply to. */
export interface UsNational {
  readonly saleOptOut: boolean | null
  readonly sharingOptOut: boolean | null
  readonly targetedAdvertisingOptOut: boolean | null
  /** The browser sent a Global Privacy Control signal (`Sec-GPC: 1`). */
  readonly gpc: boolean
}

/**
 * The US opt-outs of a subject's decisions (taken in the subject's US jurisdiction): the purposes a
 * GPC signal opts out of (`gpc: true` in the policy) are the sale, sharing and targeted-advertising
 * purposes, and any of them refused is an opt-out.
 */
export const usNationalOf = (
  policy: Policy.Policy,
  decisions: ReadonlyArray<Decision.Decision>,
  gpc: boolean,
): UsNational => {
  const governed = decisions.filter((d) => policy.purposes.get(d.purpose)?.gpc)
  const optedOut = governed.length === 0 ? null : governed.some((d) => !d.allowed)
  return { saleOptOut: optedOut, sharingOptOut: optedOut, targetedAdvertisingOptOut: optedOut, gpc }
}

// US National values: 0 not applicable, 1 yes / opted out, 2 no / did not opt out.
const optOut = (value: boolean | null) => (value === null ? 0 : value ? 1 : 2)
const notice = (value: boolean | null) => (value === null ? 0 : 1)

/** What goes into a GPP string. */
export interface Sections {
  /** The TC string, carried as the TCF EU v2 section. */
  readonly tcString?: string
  /** Present for US jurisdictions. */
  readonly usNational?: UsNational
}

/** The GPP model of the sections, before encoding (for callers that need the IAB library's own object). */
export const modelOf = (sections: Sections): GppModel => {
  const model = new GppModel()
  if (sections.tcString) model.decodeSection(TcfEuV2.NAME, sections.tcString)
  const us = sections.usNational
  if (us) {
    const set = (field: string, value: unknown) => model.setFieldValue(UsNat.NAME, field, value)
    set("SharingNotice", notice(us.sharingOptOut))
    set("SaleOptOutNotice", notice(us.saleOptOut))
    set("SharingOptOutNotice", notice(us.sharingOptOut))
    set("TargetedAdvertisingOptOutNotice", notice(us.targetedAdvertisingOptOut))
    set("SaleOptOut", optOut(us.saleOptOut))
    set("SharingOptOut", optOut(us.sharingOptOut))
    set("TargetedAdvertisingOptOut", optOut(us.targetedAdvertisingOptOut))
    // Not an MSPA-covered transaction: the host signs no MSPA through consentkit.
    set("MspaCoveredTransaction", 2)
    set("GpcSegmentIncluded", true)
    set("Gpc", us.gpc)
  }
  return model
}

/**
 * The GPP string of the sections.
 *
 * @example
 * ```ts
 * import { Gpp } from "@consentkit/iab"
 *
 * const gppString = Gpp.encode({ tcString, usNational: { saleOptOut: true, sharingOptOut: true, targetedAdvertisingOptOut: true, gpc: true } })
 * ```
 */
export const encode = (sections: Sections): string => modelOf(sections).encode()

/** Raised for a string that is not a GPP string. */
export class GppError extends Error {
  override readonly name = "GppError"
}

/** Decodes a GPP string with the IAB's library; throws `GppError` on a string that is not one. */
export const decode = (gppString: string): GppModel => {
  try {
    const model = new GppModel(gppString)
    // Decoding is lazy: reading the header and every section forces it, so errors surface here.
    model.getHeader()
    model.toObject()
    return model
  } catch (error) {
    throw new GppError(`not a GPP string: ${error instanceof Error ? error.message : String(error)}`)
  }
}
