/**
 * The ready-to-load browser build: everything `@consentkit/web` exports, with the elements already
 * registered, so `<script type="module" src=".../browser.js">` (or the IIFE build as a plain
 * `<script>`) is all a page needs.
 *
 * @since 0.1.0
 */
import { type CmpHost, consentClient, define, installCmpApi } from "./index.js"

export * from "./index.js"

if (typeof customElements !== "undefined") define()
// A page that inlined CMP_STUB asked for the IAB CMP APIs: install them on the default endpoint.
if (typeof window !== "undefined" && (window as unknown as CmpHost).__tcfapi?.consentkitStub) {
  installCmpApi({ changes: consentClient() })
}
