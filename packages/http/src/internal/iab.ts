/**
 * The handler's `iab` option: `@consentkit/iab` (an optional peer dependency, with the IAB's
 * encoders) is imported only when the option is set, so hosts without TCF never load it.
 *
 * @since 0.2.0
 */
import type { Decision, Policy } from "@consentkit/core"
import type { Cmp } from "@consentkit/iab"
import type { IabOptions } from "../types.js"

type IabModule = typeof import("@consentkit/iab")

let loading: Promise<IabModule> | undefined

/** `@consentkit/iab`, imported once. */
export const loadIab = (): Promise<IabModule> => {
  loading ??= import("@consentkit/iab").catch((cause: unknown) => {
    loading = undefined
    throw new Error(
      "createHandler's iab option needs the @consentkit/iab package: npm install @consentkit/iab",
      { cause },
    )
  })
  return loading
}

/** The TC / GPP fields a state response gains. */
export const iabStateFields = async (
  options: IabOptions,
  context: {
    readonly policy: Policy.Policy
    readonly decisions: ReadonlyArray<Decision.Decision>
    readonly jurisdiction: string | null
    readonly gpc: boolean
    readonly decide: (purpose: string) => Promise<Decision.Decision>
    readonly dates?: { readonly created?: Date | null; readonly lastUpdated?: Date | null }
  },
): Promise<Cmp.StateFields> => {
  const { Cmp } = await loadIab()
  // The vendor list's shape is checked by @consentkit/iab, which owns the GVL type.
  return Cmp.stateFields(options as Cmp.Options, context)
}

/** Checks the TC / GPP strings a page sent, as evidence metadata. */
export const iabEvidence = async (input: { readonly tcString?: unknown; readonly gppString?: unknown }) => {
  const { Cmp } = await loadIab()
  return Cmp.evidenceOf(input)
}
