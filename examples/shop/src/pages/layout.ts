/** The page frame of the shop and of the admin, in Thai or English. */
import { defaultCommands, toScript } from "@consentkit/consent-mode"
import { CMP_STUB } from "@consentkit/web"
import type { Customer } from "../db.js"
import { type Html, html, raw } from "../html.js"

/** The shop's languages. */
export type Lang = "th" | "en"

/** Picks the Thai or the English text. */
export const tr = (lang: Lang, th: string, en: string): string => (lang === "th" ? th : en)

/** What every page knows about the request. */
export interface PageContext {
  readonly lang: Lang
  readonly path: string
  readonly customer: Customer | null
  readonly operator: boolean
  readonly region: string
}

// Consent Mode defaults go first, before any tag can read them.
const CONSENT_DEFAULTS = raw(`<script>${toScript(defaultCommands())}</script>`)
// The IAB CMP API stub: __tcfapi / __gpp queue calls until the consentkit bundle answers them.
const CMP_API_STUB = raw(`<script>${CMP_STUB}</script>`)

const REGIONS: ReadonlyArray<{ readonly code: string; readonly th: string; readonly en: string }> = [
  { code: "TH", th: "ประเทศไทย", en: "Thailand" },
  { code: "US-CA", th: "แคลิฟอร์เนีย สหรัฐฯ", en: "California, US" },
  { code: "EU-DE", th: "เยอรมนี", en: "Germany" },
]

/** A shop page: header, navigation, the consent banner and preference center, held tracking scripts. */
export const shopPage = (
  ctx: PageContext,
  options: { readonly title: string; readonly body: Html; readonly sku?: string },
): Html => {
  const { lang } = ctx
  const other: Lang = lang === "th" ? "en" : "th"
  const back = encodeURIComponent(ctx.path)
  return html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · ${tr(lang, "ชาสยาม", "Siam Tea Co.")}</title>
<link rel="stylesheet" href="/assets/shop.css">
${CONSENT_DEFAULTS}
${CMP_API_STUB}
<script type="module" src="/assets/consentkit-web.js"></script>
</head>
<body${options.sku ? html` data-sku="${options.sku}"` : ""}>
<a class="skip" href="#main">${tr(lang, "ข้ามไปยังเนื้อหา", "Skip to content")}</a>
<header class="masthead">
  <a class="brand" href="/"><span class="mark" aria-hidden="true"><svg viewBox="0 0 24 24" width="22" height="22"><path d="M5 19c0-8 6-14 15-14 0 9-6 15-14 15" fill="#fff"/><path d="M5 19 14 10" stroke="#c98a1b" stroke-width="1.6"/></svg></span><span><strong>${tr(lang, "ชาสยาม", "Siam Tea Co.")}</strong><small>${tr(lang, "Siam Tea Co. · ตั้งแต่ 2505", "ชาสยาม · since 1962")}</small></span></a>
  <nav aria-label="${tr(lang, "เมนูหลัก", "Main")}">
    <a href="/">${tr(lang, "ชาของเรา", "Our teas")}</a>
    <a href="/privacy">${tr(lang, "ความเป็นส่วนตัว", "Privacy")}</a>
    <a href="/mailbox">${tr(lang, "กล่องจดหมาย (เดโม)", "Mailbox (demo)")}</a>
    ${ctx.customer ? html`<a href="/account">${ctx.customer.name}</a>` : html`<a href="/signin">${tr(lang, "เข้าสู่ระบบ", "Sign in")}</a>`}
    <a href="/admin">${tr(lang, "ผู้ดูแล", "Admin")}</a>
    <a href="/lang/${other}?back=${back}" lang="${other}">${other === "th" ? "ภาษาไทย" : "English"}</a>
  </nav>
</header>
<main id="main">
${options.body}
</main>
<footer class="colophon">
  <p>${tr(lang, "บริษัท ชาสยาม จำกัด · 99 ถนนเจริญกรุง กรุงเทพฯ · เจ้าหน้าที่คุ้มครองข้อมูลส่วนบุคคล dpo@siamtea.example", "Siam Tea Co. · 99 Charoen Krung Road, Bangkok · Data Protection Officer dpo@siamtea.example")}</p>
  <p>
    <a href="/privacy">${tr(lang, "ประกาศความเป็นส่วนตัว", "Privacy notice")}</a> ·
    <a href="/privacy" data-ck-open-preferences>${ctx.region.startsWith("US") ? tr(lang, "ห้ามขายหรือแบ่งปันข้อมูลส่วนบุคคลของฉัน", "Do not sell or share my personal information") : tr(lang, "ตั้งค่าความเป็นส่วนตัว", "Privacy settings")}</a> ·
    <a href="/privacy/erase">${tr(lang, "ขอให้ลบข้อมูล", "Request erasure")}</a>
  </p>
  <form class="region" method="post" action="/region">
    <label for="region">${tr(lang, "จัดส่งไปที่", "Shipping to")}</label>
    <select id="region" name="region">
      ${REGIONS.map((r) => html`<option value="${r.code}"${r.code === ctx.region ? " selected" : ""}>${tr(lang, r.th, r.en)}</option>`)}
    </select>
    <input type="hidden" name="back" value="${ctx.path}">
    <button type="submit">${tr(lang, "เปลี่ยน", "Change")}</button>
  </form>
</footer>
<ck-banner></ck-banner>
<ck-preferences></ck-preferences>
<script type="text/plain" data-consent-purpose="analytics" src="/assets/analytics.js"></script>
<script type="text/plain" data-consent-purpose="advertising" src="/assets/ads.js"></script>
</body>
</html>`
}

/** An admin page: no banner and no trackers, an operator's tools. */
export const adminPage = (
  ctx: PageContext,
  options: { readonly title: string; readonly body: Html },
): Html => html`<!doctype html>
<html lang="${ctx.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · ${tr(ctx.lang, "ผู้ดูแลชาสยาม", "Siam Tea admin")}</title>
<link rel="stylesheet" href="/assets/shop.css">
</head>
<body class="admin">
<a class="skip" href="#main">${tr(ctx.lang, "ข้ามไปยังเนื้อหา", "Skip to content")}</a>
<header class="masthead">
  <a class="brand" href="/admin"><span class="mark" aria-hidden="true"><svg viewBox="0 0 24 24" width="22" height="22"><path d="M5 19c0-8 6-14 15-14 0 9-6 15-14 15" fill="#fff"/><path d="M5 19 14 10" stroke="#c98a1b" stroke-width="1.6"/></svg></span><span><strong>${tr(ctx.lang, "ผู้ดูแลความยินยอม", "Consent admin")}</strong><small>consentkit · Siam Tea Co.</small></span></a>
  <nav aria-label="Admin">
    ${
      ctx.operator
        ? html`<a href="/admin">${tr(ctx.lang, "ภาพรวม", "Dashboard")}</a>
    <a href="/admin/campaigns">${tr(ctx.lang, "แคมเปญ", "Campaigns")}</a>
    <a href="/admin/customers">${tr(ctx.lang, "ลูกค้า", "Customers")}</a>
    <a href="/mailbox">${tr(ctx.lang, "กล่องจดหมาย", "Mailbox")}</a>
    <form method="post" action="/admin/logout" class="inline"><button type="submit" class="link">${tr(ctx.lang, "ออกจากระบบ", "Sign out")}</button></form>`
        : ""
    }
    <a href="/">${tr(ctx.lang, "กลับไปที่ร้าน", "Back to the shop")}</a>
  </nav>
</header>
<main id="main">
${options.body}
</main>
</body>
</html>`
