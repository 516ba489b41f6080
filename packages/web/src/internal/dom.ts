/** What both elements share: a base class that loads outside browsers, escaping, styles, focus helpers. */
import { consentClient, type ConsentClient } from "../Client.js"
import { pickLocale, type Locale } from "../Texts.js"

/** `HTMLElement` in a browser; a stand-in elsewhere, so importing the package during SSR or tests does not throw. */
export const Base: typeof HTMLElement =
  typeof HTMLElement === "undefined" ? (class {} as unknown as typeof HTMLElement) : HTMLElement

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
}

/** Escapes text for HTML content and attribute values. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)

/** Elements a keyboard can reach, in order. */
export const focusables = (root: ParentNode): Array<HTMLElement> =>
  Array.from(
    root.querySelectorAll<HTMLElement>(
      "a[href], button:not([disabled]), input:not([disabled]), [tabindex='0']",
    ),
  )

/** The element focused in the document, looking into shadow roots. */
export const activeElement = (): HTMLElement | null => {
  let active = document.activeElement as HTMLElement | null
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement as HTMLElement
  return active
}

/** Puts focus back where it was, if that element is still on the page. */
export const restoreFocus = (element: HTMLElement | null): void => {
  if (element?.isConnected) element.focus()
}

/** State and wiring common to the banner and the preference center. */
export abstract class ConsentElement extends Base {
  static observedAttributes = ["lang"]
  protected client!: ConsentClient
  protected root!: ShadowRoot
  private readonly rerender = () => this.render()

  connectedCallback(): void {
    this.root ??= this.attachShadow({ mode: "open" })
    this.client = consentClient({
      endpoint: this.getAttribute("endpoint") ?? undefined,
      gpcPurposes: this.getAttribute("gpc-purposes")?.split(/\s+/).filter(Boolean),
    })
    this.client.addEventListener("change", this.rerender)
    this.client.addEventListener("locale", this.rerender)
    this.render()
    this.client
      .load()
      .catch((error: unknown) => console.warn("consentkit: could not load consent preferences", error))
  }

  disconnectedCallback(): void {
    this.client.removeEventListener("change", this.rerender)
    this.client.removeEventListener("locale", this.rerender)
  }

  attributeChangedCallback(): void {
    if (this.root) this.render()
  }

  /** The locale: the client's (after a switch), the `lang` attribute, `<html lang>`, then the browser's languages. */
  protected get locale(): Locale {
    return (
      this.client.locale ??
      pickLocale(
        this.getAttribute("lang"),
        document.documentElement.lang,
        ...(navigator.languages ?? []),
        navigator.language,
      )
    )
  }

  /** Switches every element of this client to the other locale. */
  protected switchLocale(): void {
    this.client.setLocale(this.locale === "th" ? "en" : "th")
  }

  /** Renders the shadow root, keeping focus on the same control when it survives. */
  protected render(): void {
    const focused = this.root.activeElement?.id
    this.root.innerHTML = `<style>${STYLES}</style>${this.markup()}`
    this.wire()
    if (focused) (this.root.getElementById(focused) as HTMLElement | null)?.focus()
  }

  protected abstract markup(): string
  protected abstract wire(): void
}

/** Styles of both elements; override the custom properties to brand them. */
export const STYLES = `
:host{--ck-accent:#2f6b3a;--ck-accent-text:#fff;--ck-bg:#fffdf7;--ck-fg:#1f2a1f;--ck-muted:#5b665b;--ck-border:#d8d2c2;--ck-radius:12px;font:inherit;color:var(--ck-fg)}
[hidden]{display:none!important}
.card{background:var(--ck-bg);border:1px solid var(--ck-border);border-radius:var(--ck-radius);box-shadow:0 8px 32px rgb(0 0 0/.18);padding:1.25rem 1.5rem;box-sizing:border-box}
.banner{position:fixed;inset:auto 1rem 1rem 1rem;max-width:46rem;margin:0 auto;z-index:2147483000}
h2{font-size:1.15rem;margin:0 0 .5rem}
p{margin:.25rem 0 .75rem;line-height:1.5}
.small{font-size:.875rem;color:var(--ck-muted)}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin-top:.75rem}
button{font:inherit;border-radius:999px;padding:.55rem 1.1rem;border:2px solid var(--ck-accent);background:transparent;color:var(--ck-accent);cursor:pointer}
button.primary{background:var(--ck-accent);color:var(--ck-accent-text)}
button.link{border:0;padding:.25rem .5rem;text-decoration:underline}
button:focus-visible,input:focus-visible,a:focus-visible,[tabindex]:focus-visible{outline:3px solid #c98a1b;outline-offset:2px}
a{color:var(--ck-accent)}
.backdrop{position:fixed;inset:0;background:rgb(20 30 20/.45);display:grid;place-items:center;z-index:2147483001;padding:1rem}
.dialog{width:min(40rem,100%);max-height:90vh;overflow:auto}
.purpose{border-top:1px solid var(--ck-border);padding:.75rem 0;display:grid;grid-template-columns:1fr auto;gap:.25rem 1rem;align-items:start}
.purpose.child{margin-left:1.5rem}
.purpose label{font-weight:600}
.purpose p{grid-column:1/-1;margin:0}
input[role=switch]{appearance:none;width:2.75rem;height:1.5rem;border-radius:999px;background:#b9b4a6;position:relative;cursor:pointer;margin:0}
input[role=switch]::after{content:"";position:absolute;top:.2rem;left:.2rem;width:1.1rem;height:1.1rem;border-radius:50%;background:#fff;transition:left .15s}
input[role=switch]:checked{background:var(--ck-accent)}
input[role=switch]:checked::after{left:1.45rem}
input[role=switch]:disabled{opacity:.55;cursor:not-allowed}
.note{color:#8a4b0f}
`
