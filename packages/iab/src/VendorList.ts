/**
 * The IAB Global Vendor List (GVL v3): its shape as far as consentkit reads it, a check that a
 * JSON object is one, and a loader that fetches the published list from a URL the host gives and
 * keeps it cached.
 *
 * @since 0.1.0
 */

/** One vendor of the Global Vendor List. */
export interface Vendor {
  readonly id: number
  readonly name: string
  /** Purposes the vendor needs consent for. */
  readonly purposes: ReadonlyArray<number>
  /** Purposes the vendor claims legitimate interest for. */
  readonly legIntPurposes: ReadonlyArray<number>
  readonly flexiblePurposes: ReadonlyArray<number>
  readonly specialPurposes: ReadonlyArray<number>
  readonly features: ReadonlyArray<number>
  /** Special features the vendor needs an opt-in for. */
  readonly specialFeatures: ReadonlyArray<number>
  /** Set when the vendor left the list: it never receives a positive signal. */
  readonly deletedDate?: string
  readonly [field: string]: unknown
}

/** A Global Vendor List v3 JSON object, as published (`vendor-list.json`). */
export interface VendorListJson {
  readonly gvlSpecificationVersion: number
  readonly vendorListVersion: number
  readonly tcfPolicyVersion: number
  readonly lastUpdated: string
  readonly purposes: Readonly<Record<string, unknown>>
  readonly specialPurposes: Readonly<Record<string, unknown>>
  readonly features: Readonly<Record<string, unknown>>
  readonly specialFeatures: Readonly<Record<string, unknown>>
  readonly vendors: Readonly<Record<string, Vendor>>
  readonly [field: string]: unknown
}

/** A vendor list given as the JSON object, or as a loader (see `fromUrl`) called whenever a string is encoded. */
export type Source = VendorListJson | (() => Promise<VendorListJson>)

/** Raised when a vendor list is not a GVL v3 of TCF policy version 5 or later, or cannot be loaded. */
export class VendorListError extends Error {
  override readonly name = "VendorListError"
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Checks that a parsed JSON value is a GVL v3 that TCF v2.3 strings can be encoded against. */
export const validate = (json: unknown): VendorListJson => {
  if (!isRecord(json)) throw new VendorListError("a vendor list is a JSON object")
  if (json.gvlSpecificationVersion !== 3) {
    throw new VendorListError(
      `gvlSpecificationVersion is ${String(json.gvlSpecificationVersion)}; TCF v2.3 needs a v3 Global Vendor List`,
    )
  }
  if (typeof json.tcfPolicyVersion !== "number" || json.tcfPolicyVersion < 5) {
    throw new VendorListError(
      `tcfPolicyVersion is ${String(json.tcfPolicyVersion)}; TCF v2.3 strings carry policy version 5 or later`,
    )
  }
  if (!Number.isInteger(json.vendorListVersion) || (json.vendorListVersion as number) < 1) {
    throw new VendorListError("vendorListVersion must be a positive integer")
  }
  for (const field of ["purposes", "specialPurposes", "features", "specialFeatures", "vendors"]) {
    if (!isRecord(json[field])) throw new VendorListError(`${field} must be an object`)
  }
  return json as unknown as VendorListJson
}

/** Resolves a vendor list source to the JSON object. */
export const resolve = async (source: Source): Promise<VendorListJson> =>
  typeof source === "function" ? source() : source

/** Options of `fromUrl`. */
export interface LoadOptions {
  /** How long a loaded list is served before it is fetched again (default 24 hours; the GVL is published weekly). */
  readonly maxAgeMs?: number
  /** The fetch to use (default the global one). */
  readonly fetch?: (url: string) => Promise<Response>
  /** The clock, in milliseconds (default `Date.now`). */
  readonly now?: () => number
}

/**
 * A loader for the published vendor list at `url` (the IAB asks CMPs to serve their own copy):
 * fetched on first use, kept for `maxAgeMs`, one request in flight at a time, and the last good
 * list served when a refresh fails.
 *
 * @example
 * ```ts
 * import { VendorList } from "@consentkit/iab"
 *
 * const vendorList = VendorList.fromUrl("https://cmp.example/gvl/v3/vendor-list.json")
 * const json = await vendorList()
 * ```
 */
export const fromUrl = (url: string, options: LoadOptions = {}): (() => Promise<VendorListJson>) => {
  const maxAgeMs = options.maxAgeMs ?? 24 * 60 * 60 * 1000
  const fetchList = options.fetch ?? ((u: string) => globalThis.fetch(u))
  const now = options.now ?? Date.now
  let cached: { readonly json: VendorListJson; readonly at: number } | undefined
  let inFlight: Promise<VendorListJson> | undefined

  const load = async (): Promise<VendorListJson> => {
    const response = await fetchList(url)
    if (!response.ok) throw new VendorListError(`GET ${url} answered ${response.status}`)
    const json = validate(await response.json())
    cached = { json, at: now() }
    return json
  }

  return () => {
    if (cached && now() - cached.at < maxAgeMs) return Promise.resolve(cached.json)
    if (!inFlight) {
      const stale = cached
      inFlight = load()
        .catch((error: unknown) => {
          if (stale) return stale.json
          throw error instanceof VendorListError
            ? error
            : new VendorListError(`could not load the vendor list from ${url}: ${String(error)}`)
        })
        .finally(() => {
          inFlight = undefined
        })
    }
    return inFlight
  }
}
