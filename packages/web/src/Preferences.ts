/**
 * `<ck-preferences>`: the preference center. Every purpose is a labelled switch (a real checkbox
 * with `role="switch"`), nested purposes sit under their parent and follow it, purposes that rest on
 * another lawful basis show as always on, and each change is recorded with the notice version in
 * force. With the `inline` attribute it is part of the page; without it, it is a modal dialog that
 * `show()` (or the banner's "choose" button, or any `[data-ck-open-preferences]` link) opens, that
 * keeps Tab inside, that Escape closes, and that gives focus back where it came from.
 *
 * Attributes: `endpoint` (default `/consent`), `lang` (`th` | `en`), `inline`, `gpc-purposes`.
 *
 * @since 0.1.0
 */
import {
  acceptAll,
  ancestorsOf,
  channelClosed,
  channelDecisionsFor,
  channelKey,
  choosable,
  decisionsFor,
  type PurposeModel,
  rejectAll,
} from "./Model.js"
import { fill, localize, TEXTS } from "./Texts.js"
import { activeElement, ConsentElement, escapeHtml, focusables, restoreFocus } from "./internal/dom.js"

/** The tag name `define()` registers. */
export const PREFERENCES_TAG = "ck-preferences"

const idOf = (purpose: string) => `ck-p-${purpose.replace(/[^a-z0-9_-]/gi, "-")}`
const channelIdOf = (purpose: string, channel: string) =>
  `${idOf(purpose)}--${channel.replace(/[^a-z0-9_-]/gi, "-")}`
/** How the built-in channels read; any other shows its own name. */
const CHANNEL_NAMES: Readonly<Record<string, string>> = {
  email: "Email",
  sms: "SMS",
  line: "LINE",
  push: "Push",
}

/** The preference center element. */
export class ConsentPreferences extends ConsentElement {
  private opened = false
  private returnFocus: HTMLElement | null = null
  private status = ""
  private readonly openFromLink = (event: Event) => {
    const link = (event.target as Element | null)?.closest?.("[data-ck-open-preferences]")
    if (!link || this.inline) return
    event.preventDefault()
    this.show(link as HTMLElement)
  }
  private readonly onKey = (event: KeyboardEvent) => this.key(event)

  override connectedCallback(): void {
    super.connectedCallback()
    document.addEventListener("click", this.openFromLink)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    document.removeEventListener("click", this.openFromLink)
  }

  /** Part of the page rather than a dialog. */
  get inline(): boolean {
    return this.hasAttribute("inline")
  }

  /** The same as the attribute, for frameworks that assign properties (React 19 does when one exists). */
  set inline(value: boolean) {
    this.toggleAttribute("inline", value)
    if (this.root) this.render()
  }

  /** Whether the dialog is open (always true inline). */
  get open(): boolean {
    return this.inline || this.opened
  }

  /** Opens the dialog; focus returns to `from` (default: what was focused) when it closes. */
  show(from?: HTMLElement): void {
    if (this.inline || this.opened) return
    this.returnFocus = from ?? activeElement()
    this.opened = true
    this.status = ""
    this.render()
    this.root.querySelector<HTMLElement>("[role=dialog]")?.focus()
    void this.client.load()
  }

  /** Closes the dialog and gives focus back. */
  close(): void {
    if (!this.opened) return
    this.opened = false
    this.render()
    restoreFocus(this.returnFocus)
    this.returnFocus = null
  }

  protected markup(): string {
    if (!this.open) return ""
    const model = this.client.model
    const t = TEXTS[this.locale]
    const locale = this.locale
    const gpc = this.client.gpcRefused()
    const rows = (model?.purposes ?? [])
      .map((p) => {
        const id = idOf(p.id)
        const depth = ancestorsOf(model!, p.id).length
        const note = p.required
          ? t.alwaysOn
          : gpc.includes(p.id) && !p.choice.allowed
            ? (t.reasons.gpc_opt_out ?? "")
            : Object.hasOwn(t.reasons, p.choice.reason)
              ? (t.reasons[p.choice.reason] ?? "")
              : ""
        const description = localize(p.description, locale)
        const described = [description ? `${id}-d` : "", note ? `${id}-n` : ""].filter(Boolean).join(" ")
        return `<div class="purpose${depth > 0 ? " child" : ""}" data-purpose="${escapeHtml(p.id)}">
<label for="${id}">${escapeHtml(localize(p.title, locale))}</label>
<input type="checkbox" role="switch" id="${id}" name="${escapeHtml(p.id)}"${p.choice.allowed || p.required ? " checked" : ""}${p.required ? " disabled" : ""}${described ? ` aria-describedby="${described}"` : ""}>
${description ? `<p class="small" id="${id}-d">${escapeHtml(description)}</p>` : ""}
${note ? `<p class="small note" id="${id}-n">${escapeHtml(note)}</p>` : ""}
${
  // Channels show where they are a choice of their own: several of them, or one closed alone.
  p.required ||
  !p.channelChoices ||
  !(p.channelChoices.length > 1 || p.channelChoices.some((c) => c.reason === "channel_withdrawn"))
    ? ""
    : `<fieldset class="channels small" data-channels="${escapeHtml(p.id)}">${p.channelChoices
        .map((c) => {
          const cid = channelIdOf(p.id, c.channel)
          return `<label for="${cid}"><input type="checkbox" id="${cid}" data-purpose="${escapeHtml(p.id)}" data-channel="${escapeHtml(c.channel)}"${channelClosed(p, c.channel) ? "" : " checked"}> ${escapeHtml(CHANNEL_NAMES[c.channel] ?? c.channel)}</label>`
        })
        .join(" ")}</fieldset>`
}
<p class="small">${escapeHtml(fill(t.noticeVersion, { n: p.noticeVersion }))}</p>
</div>`
      })
      .join("")
    const brand = escapeHtml(model?.controller.name ?? "")
    const body = `<h2 id="ck-prefs-title">${escapeHtml(t.preferencesTitle)}</h2>
<p class="small">${fill(escapeHtml(t.preferencesIntro), { brand })}${model?.identified ? ` ${escapeHtml(t.identified)}` : ""}</p>
<form id="ck-form">${rows}
<div class="actions">
<button type="submit" class="primary" id="ck-save">${escapeHtml(t.save)}</button>
<button type="button" id="ck-all">${escapeHtml(t.acceptAll)}</button>
<button type="button" id="ck-none">${escapeHtml(t.rejectAll)}</button>
<button type="button" class="link" id="ck-lang" lang="${locale === "th" ? "en" : "th"}">${escapeHtml(t.switchLanguage)}</button>
${this.inline ? "" : `<button type="button" class="link" id="ck-close">${escapeHtml(t.close)}</button>`}
</div></form>
<p class="small" role="status" id="ck-status">${escapeHtml(this.status)}</p>`
    return this.inline
      ? `<section class="card" aria-labelledby="ck-prefs-title" part="preferences" lang="${locale}">${body}</section>`
      : `<div class="backdrop" part="backdrop"><div class="card dialog" id="ck-dialog" role="dialog" aria-modal="true" aria-labelledby="ck-prefs-title" tabindex="-1" part="preferences" lang="${locale}">${body}</div></div>`
  }

  protected wire(): void {
    const form = this.root.getElementById("ck-form") as HTMLFormElement | null
    if (!form) return
    this.root.removeEventListener("keydown", this.onKey as EventListener)
    this.root.addEventListener("keydown", this.onKey as EventListener)
    this.followParents()
    form.addEventListener("change", () => this.followParents())
    form.addEventListener("submit", (event) => {
      event.preventDefault()
      void this.save("form")
    })
    const on = (id: string, handler: () => void) =>
      this.root.getElementById(id)?.addEventListener("click", handler)
    on("ck-all", () => void this.save("all"))
    on("ck-none", () => void this.save("none"))
    on("ck-lang", () => this.switchLocale())
    on("ck-close", () => this.close())
    this.root.querySelector(".backdrop")?.addEventListener("click", (event) => {
      if (event.target === event.currentTarget) this.close()
    })
  }

  /** A child purpose cannot be on while its parent is off: its switch follows the parent's. */
  private followParents(): void {
    const model = this.client.model
    if (!model) return
    for (const p of model.purposes) {
      const input = this.switchOf(p)
      if (!input || p.required) continue
      const parentOff = ancestorsOf(model, p.id).some((a) => {
        const parent = model.purposes.find((q) => q.id === a)
        const parentInput = parent ? this.switchOf(parent) : null
        return parentInput !== null && !parentInput.checked
      })
      input.disabled = parentOff
      if (parentOff) input.checked = false
    }
  }

  /** What the form records: the purposes' switches, then the channels of the purposes kept on. */
  private formDecisions(model: NonNullable<typeof this.client.model>) {
    const wanted = new Set(
      choosable(model)
        .filter((p) => this.switchOf(p)?.checked)
        .map((p) => p.id),
    )
    const closed = new Set<string>()
    this.root.querySelectorAll<HTMLInputElement>("input[data-channel]").forEach((input) => {
      if (!input.checked) closed.add(channelKey(input.dataset.purpose ?? "", input.dataset.channel ?? ""))
    })
    return [...decisionsFor(model, wanted), ...channelDecisionsFor(model, wanted, closed)]
  }

  private switchOf(p: PurposeModel): HTMLInputElement | null {
    return this.root.getElementById(idOf(p.id)) as HTMLInputElement | null
  }

  private async save(how: "form" | "all" | "none"): Promise<void> {
    const model = this.client.model
    if (!model) return
    const t = TEXTS[this.locale]
    const decisions =
      how === "all"
        ? acceptAll(model, this.client.gpcRefused())
        : how === "none"
          ? rejectAll(model)
          : this.formDecisions(model)
    try {
      await this.client.record(decisions, "preference-center", { choice: how }, this.locale)
      this.status = t.saved
      if (!this.inline) this.close()
      else this.render()
    } catch (error) {
      console.warn("consentkit: could not record the choices", error)
      this.status = t.failed
      this.render()
    }
  }

  private key(event: KeyboardEvent): void {
    if (this.inline) return
    if (event.key === "Escape") {
      event.preventDefault()
      this.close()
      return
    }
    if (event.key !== "Tab") return
    // Keep Tab inside the modal dialog.
    const items = focusables(this.root)
    const first = items[0]
    const last = items[items.length - 1]
    const current = this.root.activeElement
    if (!first || !last) return
    if (event.shiftKey && (current === first || !current || current.getAttribute("role") === "dialog")) {
      event.preventDefault()
      last.focus()
    } else if (!event.shiftKey && current === last) {
      event.preventDefault()
      first.focus()
    }
  }
}
