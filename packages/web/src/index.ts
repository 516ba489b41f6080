/**
 * @consentkit/web: the consent banner and preference center as framework-free custom elements
 * (`<ck-banner>`, `<ck-preferences>`), in Thai and English, keyboard and screen-reader accessible.
 * They sync with the consent routes every consentkit framework adapter serves, honour
 * `navigator.globalPrivacyControl`, push Google Consent Mode v2 `default` / `update` to `dataLayer`
 * and hold `<script type="text/plain" data-consent-purpose>` until its purpose is granted. No Effect
 * runtime, no consentkit core: only `@consentkit/consent-mode`'s plain functions reach the page.
 *
 * @since 0.1.0
 */
import { BANNER_TAG, ConsentBanner } from "./Banner.js"
import { ConsentPreferences, PREFERENCES_TAG } from "./Preferences.js"

export { BANNER_TAG, ConsentBanner } from "./Banner.js"
export {
  type ChangeDetail,
  ConsentClient,
  ConsentRequestError,
  type ClientOptions,
  consentClient,
  type Source,
} from "./Client.js"
export {
  CMP_STUB,
  type CmpApi,
  type CmpHost,
  type CmpOptions,
  type IabState,
  installCmpApi,
  stub,
} from "./Cmp.js"
export { type GtagHost, gtagOf, hasDefault, pushDefault, pushUpdate } from "./DataLayer.js"
export {
  acceptAll,
  allows,
  ancestorsOf,
  choosable,
  type ConsentModeState,
  type DecisionInput,
  decisionsFor,
  gpcPurposes,
  gpcRefusals,
  type Localized,
  needsAnswer,
  type PreferencesModel,
  type PurposeModel,
  type Reason,
  rejectAll,
} from "./Model.js"
export { ConsentPreferences, PREFERENCES_TAG } from "./Preferences.js"
export { activateScripts, mayRun, PURPOSE_ATTRIBUTE, purposesOf, TYPE_ATTRIBUTE } from "./Scripts.js"
export { asLocale, fill, type Locale, localize, pickLocale, TEXTS, type Texts } from "./Texts.js"

/** Registers `<ck-banner>` and `<ck-preferences>` (once; safe to call again). */
export const define = (registry: CustomElementRegistry = customElements): void => {
  if (!registry.get(BANNER_TAG)) registry.define(BANNER_TAG, ConsentBanner)
  if (!registry.get(PREFERENCES_TAG)) registry.define(PREFERENCES_TAG, ConsentPreferences)
}
