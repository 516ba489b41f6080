/**
 * What a consentkit server answers as the site's CMP: the TC and GPP strings of a subject's
 * decisions, with the TCData and GPP data the browser's `__tcfapi` / `__gpp` hand to vendors,
 * and the check of strings a page sends back as evidence. `@consentkit/http` calls these when
 * `createHandler(kit, { iab: { cmpId, cmpVersion, vendorList } })` is configured.
 *
 * @since 0.1.0
 */
import type { Decision, Policy } from "@consentkit/core"
import type { TCModel } from "@iabtechlabtcf/core"
import * as Gpp from "./Gpp.js"
import * as Tcf from "./Tcf.js"

/** The `iab` options of the handler: the TC string options, plus where GDPR applies. */
export interface Options extends Tcf.Options {
  /** Whether GDPR applies in a jurisdiction; default the `EU` ones (`EU`, `EU-FR`, ...). */
  readonly gdprApplies?: (jurisdiction: string) => boolean
}

/** What the handler knows about the request a state answers. */
export interface StateContext {
  readonly policy: Policy.Policy
  /** The decisions the state response answers with. */
  readonly decisions: ReadonlyArray<Decision.Decision>
  /** The visitor's jurisdiction, when the host tells it. */
  readonly jurisdiction: string | null
  /** The request carried `Sec-GPC: 1`. */
  readonly gpc: boolean
  /** Decides a purpose in the visitor's jurisdiction (US opt-out defaults differ from the state's). */
  readonly decide: (purpose: string) => Promise<Decision.Decision>
  /** When the subject first chose and last changed a choice, for the TC string's Created / LastUpdated. */
  readonly dates?: Tcf.Dates
}

/** A purpose / vendor id to whether it is signalled, as the CMP API's TCData writes it. */
export type Flags = Readonly<Record<number, boolean>>

/** The fields of the CMP API's TCData the server knows (the browser adds the event and listener fields). */
export interface TcData {
  readonly tcString: string
  readonly tcfPolicyVersion: number
  readonly cmpId: number
  readonly cmpVersion: number
  readonly gdprApplies: boolean
  readonly isServiceSpecific: boolean
  readonly useNonStandardTexts: boolean
  readonly publisherCC: string
  readonly purposeOneTreatment: boolean
  readonly purpose: { readonly consents: Flags; readonly legitimateInterests: Flags }
  readonly vendor: {
    readonly consents: Flags
    readonly legitimateInterests: Flags
    readonly disclosedVendors: Flags
  }
  readonly specialFeatureOptins: Flags
  readonly publisher: {
    readonly consents: Flags
    readonly legitimateInterests: Flags
    readonly customPurpose: { readonly consents: Flags; readonly legitimateInterests: Flags }
    readonly restrictions: Readonly<Record<string, unknown>>
  }
}

/** What the browser's `__gpp` answers with, besides the string. */
export interface GppData {
  readonly gppVersion: "1.1"
  readonly sectionList: ReadonlyArray<number>
  /** The sections that apply to this visitor; `[-1]` when none does. */
  readonly applicableSections: ReadonlyArray<number>
  readonly parsedSections: Readonly<Record<string, unknown>>
}

/** The fields the state response gains. */
export interface StateFields {
  readonly tcString: string
  readonly gppString: string
  /** The Global Vendor List version the TC string was made against (`ping`'s `gvlVersion`). */
  readonly gvlVersion: number
  readonly tcData: TcData
  readonly gppData: GppData
}

const isEu = (jurisdiction: string) => jurisdiction === "EU" || jurisdiction.startsWith("EU-")

interface Vector {
  has(id: number): boolean
}
const flags = (vector: Vector, ids: Iterable<number>): Flags => {
  const out: Record<number, boolean> = {}
  for (const id of ids) out[id] = vector.has(id)
  return out
}
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

/** The TCData of a TC model (all 11 purposes, both special features, the disclosed vendors). */
export const tcDataOf = (tcString: string, model: TCModel, gdprApplies: boolean): TcData => {
  const vendors: Array<number> = []
  model.vendorsDisclosed.forEach((disclosed, id) => {
    if (disclosed) vendors.push(id)
  })
  return {
    tcString,
    tcfPolicyVersion: Number(model.policyVersion),
    cmpId: Number(model.cmpId),
    cmpVersion: Number(model.cmpVersion),
    gdprApplies,
    isServiceSpecific: model.isServiceSpecific,
    useNonStandardTexts: model.useNonStandardTexts,
    publisherCC: model.publisherCountryCode,
    purposeOneTreatment: model.purposeOneTreatment,
    purpose: {
      consents: flags(model.purposeConsents, range(11)),
      legitimateInterests: flags(model.purposeLegitimateInterests, range(11)),
    },
    vendor: {
      consents: flags(model.vendorConsents, vendors),
      legitimateInterests: flags(model.vendorLegitimateInterests, vendors),
      disclosedVendors: flags(model.vendorsDisclosed, vendors),
    },
    specialFeatureOptins: flags(model.specialFeatureOptins, range(2)),
    publisher: {
      consents: flags(model.publisherConsents, range(11)),
      legitimateInterests: flags(model.publisherLegitimateInterests, range(11)),
      customPurpose: { consents: {}, legitimateInterests: {} },
      restrictions: {},
    },
  }
}

/** The TC and GPP strings of a state response, with the data the browser's CMP API serves. */
export const stateFields = async (options: Options, context: StateContext): Promise<StateFields> => {
  const { policy, decisions, jurisdiction, gpc } = context
  const tcString = await Tcf.encode(options, policy, decisions, context.dates)
  // TCData is read back from the string, so what vendors are told is exactly what it encodes.
  const model = Tcf.decode(tcString)
  const where = jurisdiction ?? policy.defaultJurisdiction
  const gdprApplies = (options.gdprApplies ?? isEu)(where)
  const us = Gpp.isUs(where)
  const usDecisions = us
    ? await Promise.all(
        policy.purposeIds.filter((id) => policy.purposes.get(id)!.gpc).map((id) => context.decide(id)),
      )
    : []
  const gppModel = Gpp.modelOf({
    tcString,
    ...(us ? { usNational: Gpp.usNationalOf(policy, usDecisions, gpc) } : {}),
  })
  const gppString = gppModel.encode()
  const applicable = [...(gdprApplies ? [Gpp.TCF_EU_V2] : []), ...(us ? [Gpp.US_NATIONAL] : [])]
  return {
    tcString,
    gppString,
    gvlVersion: Number(model.vendorListVersion),
    tcData: tcDataOf(tcString, model, gdprApplies),
    gppData: {
      gppVersion: "1.1",
      sectionList: gppModel.getSectionIds() as Array<number>,
      applicableSections: applicable.length > 0 ? applicable : [-1],
      parsedSections: gppModel.toObject() as Record<string, unknown>,
    },
  }
}

/** The longest TC or GPP string accepted from a page. */
export const MAX_STRING_LENGTH = 4096

/** A problem with a string a page sent, at its field. */
export interface StringIssue {
  readonly path: ReadonlyArray<string>
  readonly message: string
}

/**
 * Checks the TC and GPP strings a page sent with its choices (each decodes with the IAB's library)
 * and returns them as the evidence metadata the decisions are recorded with.
 */
export const evidenceOf = (input: {
  readonly tcString?: unknown
  readonly gppString?: unknown
}): {
  readonly issues: ReadonlyArray<StringIssue>
  readonly metadata: { readonly tcString?: string; readonly gppString?: string }
} => {
  const issues: Array<StringIssue> = []
  const metadata: { tcString?: string; gppString?: string } = {}
  const check = (field: "tcString" | "gppString", decode: (s: string) => unknown) => {
    const value = input[field]
    if (value === undefined) return
    if (typeof value !== "string" || value.length === 0 || value.length > MAX_STRING_LENGTH) {
      issues.push({ path: [field], message: `must be a string of 1 to ${MAX_STRING_LENGTH} characters` })
      return
    }
    try {
      decode(value)
      metadata[field] = value
    } catch (error) {
      issues.push({ path: [field], message: error instanceof Error ? error.message : String(error) })
    }
  }
  check("tcString", Tcf.decode)
  check("gppString", Gpp.decode)
  return { issues, metadata }
}
