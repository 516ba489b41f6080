/**
 * @consentkit/react: consentkit for React 18 and 19. `<ConsentProvider>` loads the visitor's consent
 * from the consent routes through `@consentkit/web`'s `ConsentClient`; `useConsent(purpose)` and
 * `useConsentState()` read it and record choices; `<ConsentBanner />` and `<PreferenceCenter />`
 * render the web package's elements. Safe to import and render on the server, where every purpose
 * reads as loading and not allowed.
 *
 * @since 0.1.0
 */
export { ConsentBanner, type ElementProps, PreferenceCenter, type PreferenceCenterProps } from "./Elements.js"
export {
  ConsentProvider,
  type ConsentProviderProps,
  type ConsentState,
  type PurposeConsent,
  type RecordOptions,
  useConsent,
  useConsentState,
} from "./Provider.js"
export type { DecisionInput, PreferencesModel, PurposeModel, Reason } from "@consentkit/web"
