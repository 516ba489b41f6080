/**
 * Google Consent Mode v2 on the page: `gtag("consent", "default", …)` before any tag, then
 * `gtag("consent", "update", …)` each time the visitor's choices change. Works with the page's own
 * `gtag` when it has one, else pushes `arguments` to `dataLayer` exactly as gtag.js does.
 *
 * @since 0.1.0
 */
import { defaultCommands, type GtagConsentCommand, type RegionDefault } from "@consentkit/consent-mode"
import type { ConsentModeState } from "./Model.js"

/** The part of `window` this module touches. */
export interface GtagHost {
  dataLayer?: Array<unknown>
  gtag?: (...args: Array<unknown>) => void
}

/** The page's `gtag`, or the standard one over `dataLayer`. */
export const gtagOf = (host: GtagHost): ((...args: Array<unknown>) => void) => {
  if (typeof host.gtag === "function") return host.gtag
  host.dataLayer = host.dataLayer ?? []
  const layer = host.dataLayer
  // gtag.js reads `arguments` objects, not arrays.
  return function gtag() {
    // biome-ignore lint/complexity/noArguments: gtag.js expects the arguments object itself
    layer.push(arguments)
  }
}

const isConsentCommand = (entry: unknown, action: "default" | "update"): boolean => {
  if (entry === null || typeof entry !== "object" || !("length" in entry)) return false
  const list = entry as ArrayLike<unknown>
  return list[0] === "consent" && list[1] === action
}

/** Whether the page already set a consent default (e.g. an inline script the server rendered). */
export const hasDefault = (host: GtagHost): boolean =>
  (host.dataLayer ?? []).some((entry) => isConsentCommand(entry, "default"))

/** Sets the region defaults unless the page already did; returns whether it pushed. */
export const pushDefault = (host: GtagHost, regions?: ReadonlyArray<RegionDefault>): boolean => {
  if (hasDefault(host)) return false
  const gtag = gtagOf(host)
  for (const command of defaultCommands(regions ? { regions } : {}) as Array<GtagConsentCommand>)
    gtag(...command)
  return true
}

/** Pushes an update for a consent state unless it equals the last one pushed; returns whether it pushed. */
export const pushUpdate = (host: GtagHost, state: ConsentModeState, last: string | null): string | null => {
  const key = JSON.stringify(Object.entries(state).sort(([a], [b]) => (a < b ? -1 : 1)))
  if (key === last) return null
  gtagOf(host)("consent", "update", { ...state })
  return key
}
