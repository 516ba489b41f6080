/**
 * The banner and the preference center in Debian's Chromium against the running shop: accepting
 * all lets product views reach the tracker, the elements speak Thai and English and work from the
 * keyboard, and a Global Privacy Control signal records an opt-out.
 */
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, expect, it } from "vitest"
import { TENANT } from "../src/policy.js"
import type { Shop } from "../src/shop.js"
import {
  eventually,
  focusedId,
  launchChromium,
  newContext,
  screenshot,
  startTestShop,
  visitorOf,
} from "./support.js"

let shop: Shop
let browser: Browser

beforeAll(async () => {
  ;[shop, browser] = await Promise.all([startTestShop(120), launchChromium()])
})

afterAll(async () => {
  await browser?.close()
  await shop?.close()
})

it("accept all from the keyboard: Consent Mode updates, the held analytics tag runs and product views reach the tracker", async () => {
  const context = await newContext(browser, shop, { lang: "th" })
  const page = await context.newPage()
  await page.goto(`${shop.url}/teas/cha-thai`)

  // The banner is a labelled, described dialog, and focus moved into it.
  const banner = page.getByRole("dialog", { name: /ความเป็นส่วนตัวของคุณที่/ })
  await banner.waitFor()
  await expect(banner.getAttribute("aria-describedby")).resolves.toBe("ck-text")
  expect(await focusedId(page)).toBe("ck-banner")
  const visitor = await visitorOf(context)
  expect(await page.locator("script[data-consent-activated]").count()).toBe(0)
  expect(shop.analytics.received(visitor)).toEqual([])

  // Tab reaches "accept all" first; Enter presses it.
  await page.keyboard.press("Tab")
  expect(await focusedId(page)).toBe("ck-accept")
  await page.keyboard.press("Enter")
  await banner.waitFor({ state: "detached" })

  // gtag consent default (from the server-rendered head) came before the update, which grants analytics.
  const consent = await page.evaluate(() =>
    ((window as unknown as { dataLayer: Array<ArrayLike<unknown>> }).dataLayer ?? []).map((entry) =>
      Array.from(entry),
    ),
  )
  const defaults = consent.findIndex((c) => c[0] === "consent" && c[1] === "default")
  const updates = consent.filter((c) => c[0] === "consent" && c[1] === "update")
  expect(defaults).toBe(0)
  expect(updates.at(-1)?.[2]).toMatchObject({ analytics_storage: "granted", ad_storage: "granted" })

  // The held tags ran once their purposes were granted, and the tracker got the product view.
  await eventually(
    () => shop.analytics.received(visitor).includes("product_viewed"),
    "the first product view",
  )
  await page.goto(`${shop.url}/teas/butterfly-pea`)
  await page.getByRole("button", { name: "ใส่ตะกร้า" }).click()
  await eventually(
    () => shop.analytics.received(visitor).filter((e) => e === "product_viewed").length === 2,
    "the second product view",
  )
  await eventually(() => shop.analytics.received(visitor).includes("add_to_cart"), "the add-to-cart event")
  expect(
    shop.analytics.events
      .filter((e) => e.distinctId === visitor && e.event === "product_viewed")
      .map((e) => e.properties.sku),
  ).toEqual(["cha-thai", "butterfly-pea"])
  // No banner on the next page: the answer is remembered server-side for this visitor.
  expect(await page.getByRole("dialog").count()).toBe(0)

  const history = await shop.kit.history(TENANT, visitor)
  expect(
    history
      .filter((e) => e.action === "grant")
      .map((e) => e.purpose)
      .sort(),
  ).toEqual(["advertising", "analytics", "marketing", "marketing.email", "marketing.line"].sort())
  expect(new Set(history.map((e) => e.source))).toEqual(new Set(["banner"]))
  // The evidence names the language the banner was read in, and how the choice was made.
  expect(history[0]?.evidence).toMatchObject({ locale: "th", metadata: { choice: "accept-all" } })
  await context.close()
})

it("the preference center: English and Thai, labelled switches, Escape closes it and gives focus back, choices are recorded", async () => {
  const context = await newContext(browser, shop, { lang: "en" })
  const page = await context.newPage()
  await page.goto(`${shop.url}/`)
  const banner = page.getByRole("dialog", { name: /Your privacy at/ })
  await banner.waitFor()
  await expect(banner.getByRole("button", { name: "Reject all" }).isVisible()).resolves.toBe(true)
  await screenshot(page, "banner")

  await banner.getByRole("button", { name: "Choose" }).click()
  const center = page.getByRole("dialog", { name: "Privacy settings" })
  await center.waitFor()
  await expect(center.getAttribute("aria-modal")).resolves.toBe("true")
  expect(await focusedId(page)).toBe("ck-dialog")
  const necessary = center.getByRole("switch", { name: "Running the shop" })
  await expect(center.getByRole("switch", { name: "Shop analytics" }).isChecked()).resolves.toBe(false)
  await expect(necessary.isChecked()).resolves.toBe(true)
  await expect(necessary.isDisabled()).resolves.toBe(true)
  // A child purpose follows its parent: email is off and disabled while "News and offers" is off.
  await expect(center.getByRole("switch", { name: "Newsletter by email" }).isDisabled()).resolves.toBe(true)
  await screenshot(page, "preference-center")

  // Shift+Tab from the dialog stays inside it; Escape closes it and focus goes back to "Choose".
  await page.keyboard.press("Shift+Tab")
  expect(await focusedId(page)).toBe("ck-close")
  await page.keyboard.press("Escape")
  await center.waitFor({ state: "detached" })
  expect(await focusedId(page)).toBe("ck-choose")

  // The language switch turns both elements to Thai; the choices are made in Thai.
  await banner.getByRole("button", { name: "ภาษาไทย" }).click()
  const thaiBanner = page.getByRole("dialog", { name: /ความเป็นส่วนตัวของคุณที่/ })
  await thaiBanner.getByRole("button", { name: "เลือกเอง" }).click()
  const thaiCenter = page.getByRole("dialog", { name: "ตั้งค่าความเป็นส่วนตัว" })
  await thaiCenter.waitFor()
  await thaiCenter.getByRole("switch", { name: "การวิเคราะห์การใช้งานร้านค้า" }).check()
  await thaiCenter.getByRole("switch", { name: "ข่าวสารและข้อเสนอ" }).check()
  await thaiCenter.getByRole("switch", { name: "จดหมายข่าวทางอีเมล" }).check()
  await thaiCenter.getByRole("button", { name: "บันทึกการเลือก" }).click()
  await thaiCenter.waitFor({ state: "detached" })
  await thaiBanner.waitFor({ state: "detached" })

  const visitor = await visitorOf(context)
  const decisions = new Map((await shop.kit.decisions(TENANT, visitor)).map((d) => [d.purpose, d]))
  expect(decisions.get("analytics")).toMatchObject({ allowed: true, reason: "granted" })
  expect(decisions.get("marketing.email")).toMatchObject({
    allowed: true,
    reason: "granted",
    noticeVersion: 2,
  })
  expect(decisions.get("marketing.line")).toMatchObject({ allowed: false, reason: "denied" })
  expect(decisions.get("advertising")).toMatchObject({ allowed: false, reason: "denied" })
  const events = await shop.kit.history(TENANT, visitor)
  expect(new Set(events.map((e) => e.source))).toEqual(new Set(["preference-center"]))
  expect(events[0]?.evidence.locale).toBe("th")
  await context.close()
})

it("a browser sending Sec-GPC: 1 and navigator.globalPrivacyControl records an opt-out of advertising", async () => {
  const gpc = { headers: { "Sec-GPC": "1" } }
  const signalling = async (region?: string) => {
    const context = await newContext(browser, shop, { lang: "en", ...gpc, region })
    await context.addInitScript(() =>
      Object.defineProperty(Navigator.prototype, "globalPrivacyControl", {
        get: () => true,
        configurable: true,
      }),
    )
    return context
  }

  // In Thailand (opt-in): the banner refuses the GPC purposes itself and says so; accept all leaves them off.
  const context = await signalling()
  const page = await context.newPage()
  await page.goto(`${shop.url}/`)
  const banner = page.getByRole("dialog", { name: /Your privacy at/ })
  await banner.waitFor()
  await expect(banner.getByText(/Global Privacy Control/).textContent()).resolves.toContain(
    "Ads on other sites",
  )
  const visitor = await visitorOf(context)
  await eventually(
    async () => (await shop.kit.decide(TENANT, visitor, "advertising")).reason === "denied",
    "the GPC refusal to be recorded",
  )
  const [refusal] = await shop.kit.history(TENANT, visitor, { purpose: "advertising" })
  expect(refusal).toMatchObject({ action: "deny", purpose: "advertising" })
  expect(refusal?.evidence.metadata).toMatchObject({ signal: "navigator.globalPrivacyControl" })

  await banner.getByRole("button", { name: "Accept all" }).click()
  await banner.waitFor({ state: "detached" })
  expect(await shop.kit.decide(TENANT, visitor, "analytics")).toMatchObject({ allowed: true })
  expect(await shop.kit.decide(TENANT, visitor, "advertising")).toMatchObject({
    allowed: false,
    reason: "denied",
  })
  await eventually(() => shop.analytics.received(visitor).includes("page_viewed"), "the analytics tag")
  expect(shop.analytics.received(visitor)).not.toContain("ad_pixel")
  await context.close()

  // In California (opt-out by default), the server itself records the signal as a GPC opt-out.
  const californian = await signalling("US-CA")
  const second = await californian.newPage()
  const wellKnown = await second.goto(`${shop.url}/.well-known/gpc.json`)
  expect(await wellKnown?.json()).toMatchObject({ gpc: true })
  await second.goto(`${shop.url}/`)
  await second.locator("footer").getByText("Do not sell or share my personal information").waitFor()
  const other = await visitorOf(californian)
  // The first visit only reads (a cookieless request writes nothing); the page's own refusal, a
  // guarded write, brings the server's GPC opt-out with it.
  await eventually(
    async () =>
      (await shop.kit.history(TENANT, other, { purpose: "advertising" })).some((e) => e.source === "gpc"),
    "the server's GPC opt-out",
  )
  expect((await shop.kit.decide(TENANT, other, "advertising")).allowed).toBe(false)
  const [opted] = await shop.kit.history(TENANT, other, { purpose: "advertising" })
  expect(opted).toMatchObject({ source: "gpc", jurisdiction: "US-CA" })
  await californian.close()
})
