/**
 * The ready-to-load browser build: everything `@consentkit/web` exports, with the elements already
 * registered, so `<script type="module" src=".../browser.js">` (or the IIFE build as a plain
 * `<script>`) is all a page needs.
 *
 * @since 0.1.0
 */
import { define } from "./index.js"

export * from "./index.js"

if (typeof customElements !== "undefined") define()
