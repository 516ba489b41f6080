/** The operator's pages: the dashboard, campaigns, customers' audit trails and erasure receipts. */
import type { ConsentKit, ConsentStore, Decision, Ledger, Receipt } from "@consentkit/core"
import type { CampaignRun } from "../campaigns.js"
import { barChart, rateChart, type Series } from "../charts.js"
import type { Customer, ErasureRow } from "../db.js"
import { type Html, html, raw } from "../html.js"
import { adminPage, type PageContext, tr } from "./layout.js"

const when = (d: Date | null | undefined) => (d ? d.toISOString().slice(0, 19).replace("T", " ") : "—")
const ago = (from: Date | null, now: number) => {
  if (!from) return "0 s"
  const s = Math.max(0, Math.round((now - from.getTime()) / 1000))
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`
}

/** The operator's sign-in. */
export const adminLoginPage = (ctx: PageContext, error?: string): Html =>
  adminPage(ctx, {
    title: tr(ctx.lang, "เข้าสู่ระบบผู้ดูแล", "Operator sign-in"),
    body: html`<section class="narrow">
  <h1>${tr(ctx.lang, "เข้าสู่ระบบผู้ดูแล", "Operator sign-in")}</h1>
  <p class="small">${tr(ctx.lang, "ผู้ดูแลเดโม: ชื่อผู้ใช้ dpo รหัสผ่าน siamtea-dpo", "Demo operator: user dpo, password siamtea-dpo.")}</p>
  ${error ? html`<p class="error" role="alert">${error}</p>` : ""}
  <form method="post" action="/admin/login" class="stack">
    <label for="user">${tr(ctx.lang, "ชื่อผู้ใช้", "User")}</label>
    <input id="user" name="user" autocomplete="username" required>
    <label for="password">${tr(ctx.lang, "รหัสผ่าน", "Password")}</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit" class="primary">${tr(ctx.lang, "เข้าสู่ระบบ", "Sign in")}</button>
  </form>
</section>`,
  })

/** Everything the dashboard shows. */
export interface Dashboard {
  readonly now: number
  readonly customers: number
  readonly decisionsLastYear: number
  readonly rates: ReadonlyArray<{
    readonly purpose: string
    readonly title: string
    readonly series: ReadonlyArray<Series>
  }>
  readonly allowedNow: ReadonlyArray<{
    readonly purpose: string
    readonly title: string
    readonly count: number
  }>
  readonly outbox: ConsentStore.OutboxStats
  readonly deadLetters: ReadonlyArray<ConsentStore.Delivery>
  readonly crmOnline: boolean
  readonly tracker: {
    readonly events: number
    readonly byName: ReadonlyArray<[string, number]>
    readonly deletions: number
  }
  readonly messages: { readonly mails: number; readonly line: number }
  readonly erasures: ReadonlyArray<{ readonly row: ErasureRow; readonly status: ConsentKit.ErasureStatus }>
}

const erasureStatusCell = (ctx: PageContext, status: ConsentKit.ErasureStatus) =>
  html`<span class="badge ${status.complete ? "ok" : "wait"}">${status.complete ? tr(ctx.lang, "เสร็จสิ้น", "complete") : tr(ctx.lang, "กำลังดำเนินการ", "in progress")}</span>
  ${status.adapters.map((a) => html`<span class="small">${a.adapter}: ${a.status}</span> `)}`

// Keeps the propagation figures live: the outbox is polled every two seconds.
const LIVE_OUTBOX = raw(`<script>
setInterval(async () => {
  const response = await fetch("/admin/outbox.json", { credentials: "same-origin" }).catch(() => null)
  if (!response || !response.ok) return
  const stats = await response.json()
  const set = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = String(value) }
  set("outbox-pending", stats.pending)
  set("outbox-delivered", stats.delivered)
  set("dead-count", stats.dead)
  set("outbox-lag", stats.lag)
  for (const a of stats.byAdapter) {
    const cells = document.querySelector('tr[data-adapter="' + CSS.escape(a.adapter) + '"]')?.children
    if (cells) { cells[1].textContent = a.pending; cells[2].textContent = a.delivered; cells[3].textContent = a.dead }
  }
}, 2000)
</script>`)

/** How long the oldest pending delivery has waited, for people. */
export const lagOf = ago

/** The dashboard: consent rates over time, propagation, trackers and messages, erasures. */
export const dashboardPage = (ctx: PageContext, d: Dashboard): Html =>
  adminPage(ctx, {
    title: tr(ctx.lang, "ภาพรวม", "Dashboard"),
    body: html`<h1>${tr(ctx.lang, "ภาพรวมความยินยอม", "Consent dashboard")}</h1>
<ul class="kpis">
  <li><strong>${d.customers.toLocaleString("en")}</strong> ${tr(ctx.lang, "ลูกค้า", "customers")}</li>
  <li><strong>${d.decisionsLastYear.toLocaleString("en")}</strong> ${tr(ctx.lang, "การตัดสินใจในรอบปี", "decisions this year")}</li>
  <li><strong id="outbox-lag">${ago(d.outbox.oldestPendingAt, d.now)}</strong> ${tr(ctx.lang, "ความล่าช้าของ outbox", "outbox lag")}</li>
  <li><strong id="dead-count">${d.outbox.dead}</strong> ${tr(ctx.lang, "รายการที่ส่งไม่สำเร็จ", "dead letters")}</li>
</ul>

<section aria-labelledby="rates-title">
  <h2 id="rates-title">${tr(ctx.lang, "อัตราการยินยอมรายเดือน ตามวัตถุประสงค์และฉบับของประกาศ", "Monthly consent rate per purpose and notice version")}</h2>
  <p class="small">${tr(ctx.lang, "สัดส่วนของการตัดสินใจที่เป็นการให้ความยินยอมในแต่ละเดือน เส้นแยกตามฉบับของประกาศที่ลูกค้าเห็น", "Share of each month's decisions that were grants, one line per notice version the customers saw.")}</p>
  <div class="charts">
  ${d.rates.map(
    (r) => html`<figure>
    <figcaption>${r.title}</figcaption>
    ${rateChart({ id: `rate-${r.purpose.replace(/\./g, "-")}`, title: `${r.title}: ${tr(ctx.lang, "อัตราการยินยอมรายเดือน", "monthly consent rate")}`, series: r.series, locale: ctx.lang })}
  </figure>`,
  )}
  <figure>
    <figcaption>${tr(ctx.lang, "ลูกค้าที่อนุญาตในขณะนี้", "Customers who allow it now")}</figcaption>
    ${barChart({
      id: "allowed-now",
      title: tr(ctx.lang, "ลูกค้าที่อนุญาตในขณะนี้ ตามวัตถุประสงค์", "Customers who allow each purpose now"),
      bars: d.allowedNow.map((a) => ({ label: a.title, value: a.count, of: d.customers })),
    })}
  </figure>
  </div>
</section>

<section aria-labelledby="propagation-title">
  <h2 id="propagation-title">${tr(ctx.lang, "การกระจายการเปลี่ยนแปลงไปยังระบบอื่น", "Propagation to the other systems")}</h2>
  <p class="small">${tr(ctx.lang, "ตัวเลขส่วนนี้อัปเดตทุก 2 วินาที", "These figures update every two seconds.")}</p>
  <p>${tr(ctx.lang, "รอส่ง", "Pending")} <strong id="outbox-pending">${d.outbox.pending}</strong> · ${tr(ctx.lang, "ส่งแล้ว", "delivered")} <strong id="outbox-delivered">${d.outbox.delivered}</strong> · ${tr(ctx.lang, "ล้มเหลว", "dead")} <strong>${d.outbox.dead}</strong> · ${tr(ctx.lang, "รายการเก่าสุดที่รอส่ง", "oldest pending")} ${when(d.outbox.oldestPendingAt)}</p>
  <table>
    <caption>${tr(ctx.lang, "การส่งต่อแยกตามอะแดปเตอร์", "Deliveries per adapter")}</caption>
    <thead><tr><th scope="col">${tr(ctx.lang, "อะแดปเตอร์", "Adapter")}</th><th scope="col">${tr(ctx.lang, "รอส่ง", "Pending")}</th><th scope="col">${tr(ctx.lang, "ส่งแล้ว", "Delivered")}</th><th scope="col">${tr(ctx.lang, "ล้มเหลว", "Dead")}</th></tr></thead>
    <tbody>${
      d.outbox.byAdapter.length === 0
        ? html`<tr><td colspan="4">${tr(ctx.lang, "ยังไม่มีการเปลี่ยนแปลงที่ต้องส่งต่อ", "No changes to propagate yet.")}</td></tr>`
        : d.outbox.byAdapter.map(
            (a) =>
              html`<tr><th scope="row">${a.adapter}</th><td>${a.pending}</td><td>${a.delivered}</td><td>${a.dead}</td></tr>`,
          )
    }</tbody>
  </table>
  <form method="post" action="/admin/crm" class="inline-form">
    <p>${tr(ctx.lang, "CRM สะสมแต้ม", "Loyalty CRM")}: <span class="badge ${d.crmOnline ? "ok" : "bad"}" id="crm-status">${d.crmOnline ? tr(ctx.lang, "ออนไลน์", "online") : tr(ctx.lang, "ออฟไลน์", "offline")}</span></p>
    <input type="hidden" name="online" value="${d.crmOnline ? "no" : "yes"}">
    <button type="submit">${d.crmOnline ? tr(ctx.lang, "ปิด CRM ชั่วคราว (จำลองการบำรุงรักษา)", "Take the CRM offline (maintenance)") : tr(ctx.lang, "เปิด CRM อีกครั้ง", "Bring the CRM back online")}</button>
  </form>
  <h3>${tr(ctx.lang, "รายการที่ส่งไม่สำเร็จ", "Dead letters")}</h3>
  ${
    d.deadLetters.length === 0
      ? html`<p id="no-dead-letters">${tr(ctx.lang, "ไม่มี", "None.")}</p>`
      : html`<form method="post" action="/admin/outbox/replay">
    <table id="dead-letters">
      <thead><tr><th scope="col">${tr(ctx.lang, "เลือก", "Replay")}</th><th scope="col">${tr(ctx.lang, "อะแดปเตอร์", "Adapter")}</th><th scope="col">Intent</th><th scope="col">${tr(ctx.lang, "ลูกค้า", "Subject")}</th><th scope="col">${tr(ctx.lang, "ครั้ง", "Attempts")}</th><th scope="col">${tr(ctx.lang, "ข้อผิดพลาด", "Last error")}</th></tr></thead>
      <tbody>${d.deadLetters.map(
        (l) =>
          html`<tr><td><input type="checkbox" name="id" value="${l.id}" checked aria-label="${tr(ctx.lang, "ส่งซ้ำ", "Replay")} ${l.id}"></td><td>${l.adapter}</td><td>${l.intent.kind}</td><td><a href="/admin/customers/${encodeURIComponent(l.intent.subject)}">${l.intent.subject}</a></td><td>${l.attempts}</td><td class="small">${l.lastError ?? ""}</td></tr>`,
      )}</tbody>
    </table>
    <button type="submit" class="primary">${tr(ctx.lang, "ส่งซ้ำรายการที่เลือก", "Replay the selected")}</button>
  </form>`
  }
</section>

${LIVE_OUTBOX}

<section aria-labelledby="providers-title">
  <h2 id="providers-title">${tr(ctx.lang, "สิ่งที่ผู้ให้บริการได้รับ", "What the providers received")}</h2>
  <p>${tr(ctx.lang, "ระบบวิเคราะห์ (PostHog ในเครื่อง)", "Analytics (local PostHog)")}: <strong id="tracker-events">${d.tracker.events}</strong> ${tr(ctx.lang, "เหตุการณ์", "events")}
    ${d.tracker.byName.length > 0 ? html`(${d.tracker.byName.map(([name, n], i) => html`${i > 0 ? ", " : ""}${name} ${n}`)})` : ""} · ${tr(ctx.lang, "คำขอลบ", "deletion requests")} ${d.tracker.deletions}</p>
  <p>${tr(ctx.lang, "อีเมล", "Email")}: <strong>${d.messages.mails}</strong> · LINE: <strong>${d.messages.line}</strong> · <a href="/mailbox">${tr(ctx.lang, "เปิดกล่องจดหมาย", "Open the mailbox")}</a></p>
</section>

<section aria-labelledby="erasures-title">
  <h2 id="erasures-title">${tr(ctx.lang, "คำขอลบข้อมูล", "Erasure requests")}</h2>
  ${
    d.erasures.length === 0
      ? html`<p>${tr(ctx.lang, "ยังไม่มี", "None yet.")}</p>`
      : html`<table id="erasures">
    <thead><tr><th scope="col">${tr(ctx.lang, "อ้างอิง", "Reference")}</th><th scope="col">${tr(ctx.lang, "รหัสคำขอ", "Erasure id")}</th><th scope="col">${tr(ctx.lang, "เวลา", "Requested")}</th><th scope="col">${tr(ctx.lang, "สถานะ", "Status")}</th></tr></thead>
    <tbody>${d.erasures.map(
      (e) =>
        html`<tr><td>${e.row.reference}</td><td><a href="/admin/erasures/${e.row.id}"><code>${e.row.id}</code></a></td><td>${when(e.row.requestedAt)}</td><td>${erasureStatusCell(ctx, e.status)}</td></tr>`,
    )}</tbody>
  </table>`
  }
</section>

<section aria-labelledby="search-title">
  <h2 id="search-title">${tr(ctx.lang, "ประวัติการยินยอมของลูกค้า", "A customer's audit trail")}</h2>
  <form method="get" action="/admin/customers" class="inline-form">
    <label for="q">${tr(ctx.lang, "ค้นหาลูกค้า", "Find a customer")}</label>
    <input id="q" name="q" placeholder="somchai / cust-00001">
    <button type="submit">${tr(ctx.lang, "ค้นหา", "Search")}</button>
  </form>
</section>`,
  })

/** Campaign sending and history. */
export const campaignsPage = (ctx: PageContext, runs: ReadonlyArray<CampaignRun>): Html =>
  adminPage(ctx, {
    title: tr(ctx.lang, "แคมเปญ", "Campaigns"),
    body: html`<h1>${tr(ctx.lang, "แคมเปญ", "Campaigns")}</h1>
<p>${tr(ctx.lang, "ทุกข้อความผ่านอะแดปเตอร์ที่ตรวจสอบความยินยอมในขณะส่ง ลูกค้าที่ถอนความยินยอมจะไม่ได้รับ", "Every message goes through a messenger adapter that checks consent at send time: customers who withdrew get nothing.")}</p>
<div class="actions">
  <form method="post" action="/admin/campaigns/newsletter"><button type="submit" class="primary" id="send-newsletter">${tr(ctx.lang, "ส่งจดหมายข่าวทางอีเมล", "Send the newsletter (email)")}</button></form>
  <form method="post" action="/admin/campaigns/line"><button type="submit" class="primary" id="send-line">${tr(ctx.lang, "ส่งข้อความทาง LINE", "Send a LINE message")}</button></form>
</div>
${
  runs.length === 0
    ? html`<p>${tr(ctx.lang, "ยังไม่มีแคมเปญ", "No campaigns sent yet.")}</p>`
    : html`<table id="campaign-runs">
  <thead><tr><th scope="col">#</th><th scope="col">${tr(ctx.lang, "ช่องทาง", "Channel")}</th><th scope="col">${tr(ctx.lang, "ส่งแล้ว", "Sent")}</th><th scope="col">${tr(ctx.lang, "ไม่ส่งเพราะความยินยอม", "Refused by consent")}</th><th scope="col">${tr(ctx.lang, "เวลา", "When")}</th></tr></thead>
  <tbody>${runs.map(
    (r) =>
      html`<tr><td>${r.number}</td><td>${r.channel}${r.via ? ` (${r.via})` : ""}</td><td class="sent">${r.sent}</td><td class="small">${
        Object.entries(r.refused)
          .map(([reason, n]) => `${reason} ${n}`)
          .join(", ") || "—"
      }${r.noAddress ? ` · no address ${r.noAddress}` : ""}</td><td>${when(r.finishedAt)}</td></tr>`,
  )}</tbody>
</table>`
}`,
  })

/** Customer search results. */
export const customersPage = (ctx: PageContext, q: string, found: ReadonlyArray<Customer>): Html =>
  adminPage(ctx, {
    title: tr(ctx.lang, "ลูกค้า", "Customers"),
    body: html`<h1>${tr(ctx.lang, "ลูกค้า", "Customers")}</h1>
<form method="get" action="/admin/customers" class="inline-form">
  <label for="q">${tr(ctx.lang, "ค้นหาลูกค้า", "Find a customer")}</label>
  <input id="q" name="q" value="${q}" placeholder="somchai / cust-00001">
  <button type="submit">${tr(ctx.lang, "ค้นหา", "Search")}</button>
</form>
<ul>${found.map((c) => html`<li><a href="/admin/customers/${c.id}">${c.id}</a> · ${c.name} · ${c.email ?? "—"}</li>`)}</ul>`,
  })

/** One customer's audit trail: decisions now, the ledger with its hash chain verified, receipts. */
export const customerPage = (
  ctx: PageContext,
  view: {
    readonly id: string
    readonly customer: Customer | null
    readonly decisions: ReadonlyArray<Decision.Decision>
    readonly events: ReadonlyArray<Ledger.ConsentEvent>
    readonly verification: Ledger.Verification
    readonly receipts: ReadonlyArray<Receipt.Receipt>
    readonly aliases: ReadonlyArray<{ readonly kind: string; readonly value: string }>
  },
): Html =>
  adminPage(ctx, {
    title: view.id,
    body: html`<h1>${view.customer?.name ?? view.id} <small><code>${view.id}</code></small></h1>
<p>${view.customer?.email ?? "—"} · ${view.customer?.city ?? ""}${view.customer?.erased ? html` · <span class="badge bad">${tr(ctx.lang, "ลบแล้ว", "erased")}</span>` : ""}</p>
<p id="chain-status" class="badge ${view.verification.ok ? "ok" : "bad"}">${
      view.verification.ok
        ? tr(
            ctx.lang,
            `ห่วงโซ่แฮชถูกต้อง: ${view.verification.count} เหตุการณ์`,
            `Hash chain verified: ${view.verification.count} events intact`,
          )
        : `${tr(ctx.lang, "ห่วงโซ่แฮชเสียหาย", "Hash chain broken")}: ${view.verification.problem.message}`
    }</p>
<p class="actions">
  <a class="button" href="/consent/subjects/${encodeURIComponent(view.id)}/export">${tr(ctx.lang, "ส่งออก JSON (สิทธิในการเข้าถึง)", "Export JSON (right of access)")}</a>
</p>
<form method="post" action="/admin/customers/${encodeURIComponent(view.id)}/erase" class="inline-form">
  <label><input type="checkbox" name="confirm" value="yes" required> ${tr(ctx.lang, "ยืนยันการลบ", "Confirm erasure")}</label>
  <button type="submit">${tr(ctx.lang, "ลบลูกค้ารายนี้ทุกระบบ", "Erase this customer everywhere")}</button>
</form>
<h2>${tr(ctx.lang, "การตัดสินใจในขณะนี้", "Decisions now")}</h2>
<table id="decisions"><thead><tr><th scope="col">${tr(ctx.lang, "วัตถุประสงค์", "Purpose")}</th><th scope="col">${tr(ctx.lang, "อนุญาต", "Allowed")}</th><th scope="col">${tr(ctx.lang, "เหตุผล", "Reason")}</th><th scope="col">${tr(ctx.lang, "ฉบับ", "Notice")}</th><th scope="col">DPV</th></tr></thead>
<tbody>${view.decisions.map(
      (d) =>
        html`<tr data-purpose="${d.purpose}"><th scope="row">${d.purpose}</th><td>${d.allowed ? "✓" : "✗"}</td><td>${d.reason}</td><td>${d.noticeVersion ?? "—"}</td><td>${d.dpv ?? "—"}</td></tr>`,
    )}</tbody></table>
<h2>${tr(ctx.lang, "บันทึกเหตุการณ์ (ledger)", "Ledger")}</h2>
<table id="ledger"><thead><tr><th scope="col">#</th><th scope="col">${tr(ctx.lang, "เวลาที่ตัดสินใจ", "Decided at")}</th><th scope="col">${tr(ctx.lang, "วัตถุประสงค์", "Purpose")}</th><th scope="col">${tr(ctx.lang, "การกระทำ", "Action")}</th><th scope="col">${tr(ctx.lang, "ฉบับ", "Notice")}</th><th scope="col">${tr(ctx.lang, "ช่องทาง", "Source")}</th><th scope="col">${tr(ctx.lang, "ผู้กระทำ", "Actor")}</th><th scope="col">${tr(ctx.lang, "แฮช", "Hash")}</th></tr></thead>
<tbody>${view.events
      .slice()
      .reverse()
      .map(
        (e) =>
          html`<tr><td>${e.seq}</td><td>${when(e.occurredAt)}</td><td>${e.purpose}</td><td>${e.action}</td><td>${e.noticeVersion}</td><td>${e.source}</td><td>${e.actor.kind}</td><td><code title="${e.hash}">${e.hash.slice(0, 12)}…</code></td></tr>`,
      )}</tbody></table>
<h2>${tr(ctx.lang, "ใบรับความยินยอม", "Consent receipts")} <small>(Kantara / ISO/IEC TS 27560)</small></h2>
<ol class="receipts">${view.receipts
      .slice()
      .reverse()
      .map(
        (r) =>
          html`<li><code>${r.consentReceiptID}</code> · ${when(new Date(r.consentTimestamp * 1000))} · ${r.collectionMethod} · ${r.ckDecisions.map((d, i) => html`${i > 0 ? ", " : ""}${d.action} ${d.purpose} v${d.noticeVersion}`)}</li>`,
      )}</ol>
<h2>${tr(ctx.lang, "ตัวระบุอื่น", "Aliases")}</h2>
<ul>${view.aliases.length === 0 ? html`<li>—</li>` : view.aliases.map((a) => html`<li>${a.kind}: <code>${a.value}</code></li>`)}</ul>`,
  })

/** An erasure receipt with each system's progress. */
export const erasureReceiptPage = (
  ctx: PageContext,
  row: ErasureRow,
  status: ConsentKit.ErasureStatus,
  proof: number,
): Html =>
  adminPage(ctx, {
    title: tr(ctx.lang, "ใบรับคำขอลบ", "Erasure receipt"),
    body: html`<h1>${tr(ctx.lang, "ใบรับคำขอลบข้อมูล", "Erasure receipt")} <small>${row.reference}</small></h1>
<dl class="facts receipt" id="erasure-receipt">
  <dt>${tr(ctx.lang, "รหัสคำขอ", "Erasure id")}</dt><dd><code>${row.receipt.erasureId}</code></dd>
  <dt>${tr(ctx.lang, "นามแฝง", "Pseudonym")}</dt><dd><code>${row.receipt.pseudonym}</code></dd>
  <dt>${tr(ctx.lang, "ขอเมื่อ", "Requested at")}</dt><dd>${when(row.receipt.requestedAt)}</dd>
  <dt>${tr(ctx.lang, "ผู้ขอ", "Requested by")}</dt><dd>${row.requestedBy}</dd>
  <dt>${tr(ctx.lang, "เหตุการณ์ที่เก็บเป็นหลักฐาน (แบบนามแฝง)", "Events kept as pseudonymous proof")}</dt><dd>${row.receipt.eventsKept} (${proof} ${tr(ctx.lang, "ในที่เก็บ", "in the store")})</dd>
  <dt>${tr(ctx.lang, "แฮชสุดท้ายของห่วงโซ่", "Chain head")}</dt><dd><code>${row.receipt.chainHead ?? "—"}</code></dd>
  <dt>${tr(ctx.lang, "สถานะ", "Status")}</dt><dd>${erasureStatusCell(ctx, status)}</dd>
</dl>
<table><caption>${tr(ctx.lang, "ความคืบหน้าแยกตามระบบ", "Progress per system")}</caption>
<thead><tr><th scope="col">${tr(ctx.lang, "ระบบ", "System")}</th><th scope="col">${tr(ctx.lang, "สถานะ", "Status")}</th><th scope="col">${tr(ctx.lang, "ครั้ง", "Attempts")}</th><th scope="col">${tr(ctx.lang, "เสร็จเมื่อ", "Done at")}</th><th scope="col">${tr(ctx.lang, "ข้อผิดพลาด", "Error")}</th></tr></thead>
<tbody>${status.adapters.map((a) => html`<tr><th scope="row">${a.adapter}</th><td>${a.status}</td><td>${a.attempts}</td><td>${when(a.deliveredAt)}</td><td class="small">${a.lastError ?? ""}</td></tr>`)}</tbody></table>`,
  })
