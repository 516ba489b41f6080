/**
 * `<ConsentBanner />` and `<PreferenceCenter />`: React components over `@consentkit/web`'s
 * `<ck-banner>` and `<ck-preferences>` elements, so React pages get the same accessible, bilingual,
 * GPC-aware banner and preference center as any other page, not a second copy of them. The elements
 * are registered when a component first mounts (never on import or on the server) and share the
 * page's client for their endpoint with `<ConsentProvider>`, so a choice made in either shows in both.
 *
 * @since 0.1.0
 */
import { BANNER_TAG, define, PREFERENCES_TAG } from "@consentkit/web"
import { createElement, type ReactNode, useEffect, version } from "react"

/** Props both components share. */
export interface ElementProps {
  /** Where the consent routes are mounted (default `/consent`); use the provider's. */
  readonly endpoint?: string
  /** The language to show (`th` | `en`; default `<html lang>`, then the browser's). */
  readonly lang?: "th" | "en"
  /** Purposes a Global Privacy Control signal refuses. */
  readonly gpcPurposes?: ReadonlyArray<string>
  readonly id?: string
  readonly className?: string
}

/** Props of `<PreferenceCenter />`. */
export interface PreferenceCenterProps extends ElementProps {
  /** Part of the page rather than a modal dialog (which the banner's "choose" button opens). */
  readonly inline?: boolean
}

const useDefined = (): void => {
  useEffect(() => {
    if (typeof customElements !== "undefined") define()
  }, [])
}

/**
 * React 18 passes a custom element's props through as attributes under their own names (so
 * `className` would render as a `className` attribute and `true` as `"true"`); React 19 maps
 * `className` to `class` and assigns properties the element defines.
 */
const attributesOnly = version.startsWith("18.")

// Plain attributes, so React 18 (attributes only) and React 19 (properties where they exist) agree.
const attributes = (props: ElementProps): Record<string, string> => ({
  ...(props.endpoint !== undefined ? { endpoint: props.endpoint } : {}),
  ...(props.lang !== undefined ? { lang: props.lang } : {}),
  ...(props.gpcPurposes !== undefined ? { "gpc-purposes": props.gpcPurposes.join(" ") } : {}),
  ...(props.id !== undefined ? { id: props.id } : {}),
  ...(props.className !== undefined ? { [attributesOnly ? "class" : "className"]: props.className } : {}),
})

/** The first-visit consent banner (`<ck-banner>`): shown while some purpose has no valid answer. */
export const ConsentBanner = (props: ElementProps): ReactNode => {
  useDefined()
  return createElement(BANNER_TAG, attributes(props))
}

/** The preference center (`<ck-preferences>`): a switch per purpose, inline or as a modal dialog. */
export const PreferenceCenter = (props: PreferenceCenterProps): ReactNode => {
  useDefined()
  // React 19 assigns `inline` as the element's property once it is defined, React 18 sets the
  // attribute (present and empty, as a boolean attribute is written).
  return createElement(PREFERENCES_TAG, {
    ...attributes(props),
    ...(props.inline ? { inline: attributesOnly ? "" : true } : {}),
  })
}
