/**
 * @consentkit/iab: IAB TCF v2.3 and GPP strings from consentkit decisions. A purpose's
 * `iab: { tcfPurposes, specialFeatures }` maps it onto TCF purposes; `Tcf` encodes the TC string
 * (policy version 5, disclosed vendors), `Gpp` the GPP string (TCF EU v2 section, US National for
 * US jurisdictions), `VendorList` loads the Global Vendor List, and `Cmp` is what
 * `@consentkit/http` answers with when its `iab` option is set.
 *
 * @since 0.1.0
 */
export * as Cmp from "./Cmp.js"
export * as Gpp from "./Gpp.js"
export * as Tcf from "./Tcf.js"
export * as VendorList from "./VendorList.js"
