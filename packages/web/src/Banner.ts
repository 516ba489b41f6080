/**
 * `<ck-banner>`: the first-visit consent banner. It appears while some purpose has no valid answer
 * (never answered, expired, or given under a notice a material change replaced), offers "accept
 * all", "reject all" (equally easy, as PDPA and GDPR expect) and "choose" (the preference center),
 * and disappears once the visitor answers. It is a labelled, described dialog: focus moves into it
 * when it appears and returns where it was when it goes.
 *
 * Attributes: `endpoint` (default `/consent`), `lang` (`th` | `en`), `gpc-purposes`.
 *
 * @since 0.1.0
 */
import { acceptAll, needsAnswer, rejectAll } from "./Model.js"
import { fill, localize, TEXTS } from "./Texts.js"
import { activeElement, ConsentElement, escapeHtml, restoreFocus } from "./internal/dom.js"

/** The tag name `define()` registers. */
export const BANNER_TAG = "ck-banner"

/** The consent banner element. */
export class ConsentBanner extends ConsentElement {
  private shown = false
  private returnFocus: HTMLElement | null = null
  private status = ""

  /** Whether the banner is on screen. */
  get open(): boolean {
    return this.shown
  }

  protected markup(): string {
    const model = this.client.model
    const visible = model !== null && needsAnswer(model)
    if (!visible) return ""
    const t = TEXTS[this.locale]
    const brand = escapeHtml(model.controller.name)
    const gpc = this.client.gpcRefused()
    const gpcTitles = gpc.map((id) => localize(model.purposes.find((p) => p.id === id)?.title, this.locale))
    return `<section class="card banner" id="ck-banner" role="dialog" aria-modal="false" aria-labelledby="ck-title" aria-describedby="ck-text" tabindex="-1" part="banner" lang="${this.locale}">
<h2 id="ck-title">${fill(t.bannerTitle, { brand })}</h2>
<p id="ck-text">${escapeHtml(t.bannerText)}</p>
${gpc.length > 0 ? `<p class="small note" id="ck-gpc">${escapeHtml(fill(t.gpcNote, { list: gpcTitles.join(", ") }))}</p>` : ""}
<div class="actions">
<button type="button" class="primary" id="ck-accept">${escapeHtml(t.acceptAll)}</button>
<button type="button" class="primary" id="ck-reject">${escapeHtml(t.rejectAll)}</button>
<button type="button" id="ck-choose">${escapeHtml(t.choose)}</button>
<button type="button" class="link" id="ck-lang" lang="${this.locale === "th" ? "en" : "th"}">${escapeHtml(t.switchLanguage)}</button>
<a class="small" href="${escapeHtml(model.policyUrl)}">${escapeHtml(t.policyLink)}</a>
</div>
<p class="small" role="status" id="ck-status">${escapeHtml(this.status)}</p>
</section>`
  }

  protected wire(): void {
    const dialog = this.root.querySelector<HTMLElement>("[role=dialog]")
    const wasShown = this.shown
    this.shown = dialog !== null
    if (this.shown && !wasShown) {
      this.returnFocus = activeElement()
      dialog!.focus()
    } else if (!this.shown && wasShown) {
      restoreFocus(this.returnFocus)
      this.returnFocus = null
    }
    if (!dialog) return
    const on = (id: string, handler: () => void) =>
      this.root.getElementById(id)?.addEventListener("click", handler)
    on("ck-accept", () => this.answer("accept"))
    on("ck-reject", () => this.answer("reject"))
    on("ck-lang", () => this.switchLocale())
    on("ck-choose", () => {
      const center = document.querySelector<HTMLElement & { show?: (from?: HTMLElement) => void }>(
        "ck-preferences:not([inline])",
      )
      if (center?.show) center.show(this.root.getElementById("ck-choose") as HTMLElement)
      else if (this.client.model)
        location.assign(this.getAttribute("preferences-url") ?? this.client.model.policyUrl)
    })
  }

  private async answer(choice: "accept" | "reject"): Promise<void> {
    const model = this.client.model
    if (!model) return
    const decisions = choice === "accept" ? acceptAll(model, this.client.gpcRefused()) : rejectAll(model)
    try {
      this.status = ""
      await this.client.record(
        decisions,
        "banner",
        { choice: choice === "accept" ? "accept-all" : "reject-all" },
        this.locale,
      )
    } catch (error) {
      console.warn("consentkit: could not record the choice", error)
      this.status = TEXTS[this.locale].failed
      this.render()
    }
  }
}
