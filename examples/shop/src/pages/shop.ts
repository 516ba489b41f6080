/** The shop's own pages: teas, sign-in, the account, the privacy notice, erasure, the demo mailbox. */
import type { ConsentKit, Policy } from "@consentkit/core"
import type { ReceivedMail } from "@consentkit/adapter-nodemailer/testing"
import { PRODUCTS, type Product } from "../catalog.js"
import type { Customer } from "../db.js"
import { type Html, html } from "../html.js"
import type { ShopPolicy } from "../policy.js"
import { type Lang, type PageContext, shopPage, tr } from "./layout.js"

const baht = (n: number, lang: Lang) => (lang === "th" ? `${n} บาท` : `฿${n}`)

const cup = (p: Product) => html`<svg class="cup" viewBox="0 0 120 100" role="img" aria-label="${p.name.en}">
<path d="M20 30 h70 v30 a35 30 0 0 1 -70 0 z" fill="#fffdf7" stroke="#7a6a4f" stroke-width="3"/>
<ellipse cx="55" cy="32" rx="33" ry="6" fill="${p.colour}"/>
<path d="M90 38 q18 0 14 14 q-3 10 -16 10" fill="none" stroke="#7a6a4f" stroke-width="3"/>
<path d="M40 18 q5 -8 0 -14 M55 18 q5 -8 0 -14 M70 18 q5 -8 0 -14" stroke="#b9b4a6" stroke-width="2" fill="none"/>
</svg>`

/** The shop front. */
export const homePage = (ctx: PageContext): Html =>
  shopPage(ctx, {
    title: tr(ctx.lang, "ชาของเรา", "Our teas"),
    body: html`<section class="hero">
  <h1>${tr(ctx.lang, "ชาไทยจากไร่ถึงแก้วของคุณ", "Thai tea, from the hills to your cup")}</h1>
  <p>${tr(ctx.lang, "ใบชาจากดอยทางภาคเหนือ คัดสรรและบรรจุที่กรุงเทพฯ", "Leaves from the northern hills, blended and packed in Bangkok.")}</p>
</section>
<ul class="products">
${PRODUCTS.map(
  (p) =>
    html`<li><a href="/teas/${p.sku}">${cup(p)}<strong>${p.name[ctx.lang]}</strong><span>${baht(p.price, ctx.lang)}</span></a></li>`,
)}
</ul>`,
  })

/** A product page; its held analytics script sends `product_viewed` once analytics is allowed. */
export const productPage = (ctx: PageContext, p: Product): Html =>
  shopPage(ctx, {
    title: p.name[ctx.lang],
    sku: p.sku,
    body: html`<article class="product">
  ${cup(p)}
  <div>
    <h1>${p.name[ctx.lang]}</h1>
    <p class="lead">${p.blurb[ctx.lang]}</p>
    <p class="price">${baht(p.price, ctx.lang)}</p>
    <button type="button" class="primary" data-add-to-cart="${p.sku}">${tr(ctx.lang, "ใส่ตะกร้า", "Add to cart")}</button>
    <p class="small" role="status" id="cart-status"></p>
    <p><a href="/">${tr(ctx.lang, "← ชาทั้งหมด", "← All teas")}</a></p>
  </div>
</article>`,
  })

/** Sign-in for the seeded customers. */
export const signinPage = (ctx: PageContext, error?: string): Html =>
  shopPage(ctx, {
    title: tr(ctx.lang, "เข้าสู่ระบบ", "Sign in"),
    body: html`<section class="narrow">
  <h1>${tr(ctx.lang, "เข้าสู่ระบบ", "Sign in")}</h1>
  <p class="small">${tr(ctx.lang, "บัญชีเดโม: somchai@example.co.th, malee@example.co.th หรืออีเมลลูกค้าคนใดก็ได้ รหัสผ่าน siamtea", "Demo accounts: somchai@example.co.th, malee@example.co.th or any seeded customer's email, password siamtea.")}</p>
  ${error ? html`<p class="error" role="alert">${error}</p>` : ""}
  <form method="post" action="/signin" class="stack">
    <label for="email">${tr(ctx.lang, "อีเมล", "Email")}</label>
    <input id="email" name="email" type="email" autocomplete="username" required>
    <label for="password">${tr(ctx.lang, "รหัสผ่าน", "Password")}</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit" class="primary">${tr(ctx.lang, "เข้าสู่ระบบ", "Sign in")}</button>
  </form>
</section>`,
  })

/** The customer's account. */
export const accountPage = (ctx: PageContext, customer: Customer): Html =>
  shopPage(ctx, {
    title: tr(ctx.lang, "บัญชีของฉัน", "My account"),
    body: html`<section class="narrow">
  <h1>${tr(ctx.lang, "สวัสดี", "Hello")} ${customer.name}</h1>
  <dl class="facts">
    <dt>${tr(ctx.lang, "รหัสลูกค้า", "Customer id")}</dt><dd><code>${customer.id}</code></dd>
    <dt>${tr(ctx.lang, "อีเมล", "Email")}</dt><dd>${customer.email ?? "—"}</dd>
    <dt>LINE</dt><dd>${customer.lineUserId ? tr(ctx.lang, "เชื่อมต่อแล้ว", "Connected") : "—"}</dd>
    <dt>${tr(ctx.lang, "เมือง", "City")}</dt><dd>${customer.city}</dd>
  </dl>
  <p><a class="button" href="/privacy">${tr(ctx.lang, "ตั้งค่าความเป็นส่วนตัว", "Privacy settings")}</a>
     <a class="button" href="/mailbox?customer=${customer.id}">${tr(ctx.lang, "ข้อความที่เราส่งถึงคุณ", "What we sent you")}</a>
     <a class="button" href="/privacy/erase">${tr(ctx.lang, "ขอให้ลบข้อมูลของฉัน", "Erase my data")}</a></p>
  <form method="post" action="/signout"><button type="submit">${tr(ctx.lang, "ออกจากระบบ", "Sign out")}</button></form>
</section>`,
  })

/** The privacy notice, with every purpose's notice versions, and the preference center inline. */
export const privacyPage = (ctx: PageContext, policy: ShopPolicy): Html => {
  const purposes = policy.purposeIds.map((id) => policy.purposes.get(id)!) as Array<Policy.Purpose>
  return shopPage(ctx, {
    title: tr(ctx.lang, "ความเป็นส่วนตัว", "Privacy"),
    body: html`<section class="privacy">
  <div>
    <h1>${tr(ctx.lang, "ประกาศความเป็นส่วนตัว", "Privacy notice")}</h1>
    <p>${tr(ctx.lang, "ชาสยามเก็บและใช้ข้อมูลส่วนบุคคลตามพระราชบัญญัติคุ้มครองข้อมูลส่วนบุคคล พ.ศ. 2562 เราขอความยินยอมแยกตามวัตถุประสงค์ และบันทึกทุกการเลือกพร้อมฉบับของประกาศที่คุณเห็น", "Siam Tea Co. collects and uses personal data under Thailand's Personal Data Protection Act B.E. 2562. We ask consent per purpose and record each choice with the version of the notice you saw.")}</p>
    ${purposes.map(
      (p) => html`<h2>${ctx.lang === "th" ? (p.title.th ?? p.title.en) : p.title.en}</h2>
    ${p.versions
      .slice()
      .reverse()
      .map(
        (v) =>
          html`<p class="small"><strong>${tr(ctx.lang, "ฉบับที่", "Version")} ${v.version}</strong> · ${tr(ctx.lang, "มีผล", "effective")} ${v.effectiveAt.toISOString().slice(0, 10)}${v.material ? "" : ""} — ${v.text ? (ctx.lang === "th" ? (v.text.th ?? v.text.en) : v.text.en) : ""}</p>`,
      )}`,
    )}
    <p><a href="/privacy/erase">${tr(ctx.lang, "ขอให้ลบข้อมูลของคุณ", "Ask us to erase your data")}</a></p>
  </div>
  <div>
    <ck-preferences inline></ck-preferences>
  </div>
</section>`,
  })
}

/** The erasure request form. */
export const erasePage = (ctx: PageContext, who: "customer" | "visitor"): Html =>
  shopPage(ctx, {
    title: tr(ctx.lang, "ขอให้ลบข้อมูล", "Request erasure"),
    body: html`<section class="narrow">
  <h1>${tr(ctx.lang, "ขอให้ลบข้อมูลของคุณ", "Ask us to erase your data")}</h1>
  <p>${
    who === "customer"
      ? tr(
          ctx.lang,
          "เราจะลบข้อมูลบัญชีของคุณ ที่อยู่อีเมล บัญชี LINE และข้อมูลการใช้งานจากระบบวิเคราะห์ ระบบ CRM และระบบส่งข้อความทั้งหมด เราเก็บไว้เพียงหลักฐานแบบนามแฝงว่าคุณเคยให้ความยินยอมและการลบได้ดำเนินการแล้ว",
          "We will erase your account details, email address, LINE account and your behaviour data from our analytics, CRM and messaging systems. We keep only a pseudonymous proof that consent was given and that erasure was done.",
        )
      : tr(
          ctx.lang,
          "คุณยังไม่ได้เข้าสู่ระบบ: เราจะลบข้อมูลของเบราว์เซอร์นี้ (รหัสผู้เข้าชม) ออกจากทุกระบบ หากต้องการลบบัญชี โปรดเข้าสู่ระบบก่อน",
          "You are not signed in: we will erase this browser's visitor record everywhere. To erase your account, sign in first.",
        )
  }</p>
  <form method="post" action="/privacy/erase" class="stack">
    <label><input type="checkbox" name="confirm" value="yes" required> ${tr(ctx.lang, "ฉันเข้าใจว่าการลบนี้ไม่สามารถยกเลิกได้", "I understand this cannot be undone")}</label>
    <button type="submit" class="primary">${tr(ctx.lang, "ส่งคำขอลบข้อมูล", "Send the erasure request")}</button>
  </form>
</section>`,
  })

/** What the customer sees after asking for erasure: the receipt. */
export const erasedPage = (ctx: PageContext, reference: string, receipt: ConsentKit.ErasureReceipt): Html =>
  shopPage(ctx, {
    title: tr(ctx.lang, "ได้รับคำขอลบข้อมูลแล้ว", "Erasure requested"),
    body: html`<section class="narrow">
  <h1>${tr(ctx.lang, "ได้รับคำขอลบข้อมูลแล้ว", "Your erasure request was received")}</h1>
  <p>${tr(ctx.lang, "เก็บหมายเลขอ้างอิงนี้ไว้ หากต้องการติดต่อเจ้าหน้าที่คุ้มครองข้อมูลส่วนบุคคล", "Keep this reference if you contact our Data Protection Officer.")}</p>
  <dl class="facts receipt">
    <dt>${tr(ctx.lang, "หมายเลขอ้างอิง", "Reference")}</dt><dd><code id="erasure-reference">${reference}</code></dd>
    <dt>${tr(ctx.lang, "รหัสคำขอ", "Erasure id")}</dt><dd><code id="erasure-id">${receipt.erasureId}</code></dd>
    <dt>${tr(ctx.lang, "นามแฝงที่เก็บไว้เป็นหลักฐาน", "Pseudonym kept as proof")}</dt><dd><code>${receipt.pseudonym}</code></dd>
    <dt>${tr(ctx.lang, "เวลา", "Requested at")}</dt><dd>${receipt.requestedAt.toISOString()}</dd>
    <dt>${tr(ctx.lang, "ระบบที่ได้รับคำขอ", "Systems asked to erase")}</dt><dd>${receipt.adapters.join(", ") || "—"}</dd>
  </dl>
</section>`,
  })

/** The demo mailbox: what the local SMTP server and the LINE-like API delivered. */
export const mailboxPage = (
  ctx: PageContext,
  view: {
    readonly customer: Customer | null
    readonly mails: ReadonlyArray<ReceivedMail>
    readonly line: ReadonlyArray<string>
    readonly totals: { readonly mails: number; readonly line: number }
  },
): Html =>
  shopPage(ctx, {
    title: tr(ctx.lang, "กล่องจดหมาย", "Mailbox"),
    body: html`<section>
  <h1>${tr(ctx.lang, "กล่องจดหมายเดโม", "Demo mailbox")}${view.customer ? html` · ${view.customer.name}` : ""}</h1>
  <p class="small">${tr(ctx.lang, "ทุกอย่างที่เซิร์ฟเวอร์ SMTP และ LINE จำลองในเครื่องได้รับจริงจากอะแดปเตอร์", "Everything the local SMTP server and LINE-like API actually received from the messenger adapters.")}
    ${tr(ctx.lang, "ทั้งหมด", "In total")}: <span id="total-mails">${view.totals.mails}</span> ${tr(ctx.lang, "อีเมล", "emails")}, <span id="total-line">${view.totals.line}</span> ${tr(ctx.lang, "ข้อความ LINE", "LINE messages")}.</p>
  <form method="get" action="/mailbox" class="inline-form">
    <label for="customer">${tr(ctx.lang, "รหัสลูกค้า", "Customer id")}</label>
    <input id="customer" name="customer" value="${view.customer?.id ?? ""}" placeholder="cust-00001">
    <button type="submit">${tr(ctx.lang, "ดู", "Show")}</button>
  </form>
  <h2>${tr(ctx.lang, "อีเมล", "Email")}</h2>
  ${
    view.mails.length === 0
      ? html`<p id="no-mail">${tr(ctx.lang, "ยังไม่มีอีเมล", "No email yet.")}</p>`
      : html`<ol class="mails" id="mails">${view.mails.map(
          (m) => html`<li class="mail">
      <p><strong class="mail-subject">${m.parsed.subject ?? ""}</strong><br><span class="small">${tr(ctx.lang, "ถึง", "To")} ${m.to.join(", ")} · ${(m.parsed.date ?? new Date()).toISOString().slice(0, 16).replace("T", " ")}</span></p>
      <p class="small">${m.text.slice(0, 240)}</p>
      <p class="small">List-Unsubscribe: <code>${m.header("list-unsubscribe") ?? "—"}</code></p>
    </li>`,
        )}</ol>`
  }
  ${
    view.customer
      ? html`<h2>LINE</h2>${
          view.line.length === 0
            ? html`<p id="no-line">${tr(ctx.lang, "ยังไม่มีข้อความ LINE", "No LINE messages yet.")}</p>`
            : html`<ol class="mails" id="line-messages">${view.line.map((text) => html`<li class="mail">${text}</li>`)}</ol>`
        }`
      : ""
  }
</section>`,
  })
