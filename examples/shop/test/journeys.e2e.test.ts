/**
 * The shop's journeys in Debian's Chromium: a customer withdraws marketing in the preference
 * center and the newsletter and LINE campaign sent from the admin skip them while others receive
 * them; a CRM outage shows up as dead letters that replay delivers; an erasure request shows its
 * receipt, with every system's completion, in the admin.
 */
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, expect, it } from "vitest"
import { TENANT } from "../src/policy.js"
import { DEMO_CUSTOMERS } from "../src/seed.js"
import type { Shop } from "../src/shop.js"
import {
  eventually,
  launchChromium,
  newContext,
  operatorSignIn,
  screenshot,
  signIn,
  startTestShop,
  visitorOf,
} from "./support.js"

let shop: Shop
let browser: Browser
const [somchai, malee, kanya] = DEMO_CUSTOMERS

beforeAll(async () => {
  ;[shop, browser] = await Promise.all([startTestShop(150), launchChromium()])
})

afterAll(async () => {
  await browser?.close()
  await shop?.close()
})

it("withdrawing marketing in the preference center: the newsletter and the LINE message reach others, not that customer", async () => {
  const context = await newContext(browser, shop, { lang: "en" })
  const page = await context.newPage()

  // The operator takes the loyalty CRM offline first, so the withdrawal's delivery to it will fail.
  await operatorSignIn(page, shop)
  await page.getByRole("button", { name: "Take the CRM offline (maintenance)" }).click()
  await page.locator("#crm-status", { hasText: "offline" }).waitFor()

  // Somchai signs in (the sign-in page gave this browser an anonymous visitor id) and turns
  // "News and offers" off in the inline preference center.
  await signIn(page, shop, somchai.email)
  const visitor = await visitorOf(context)
  await page.goto(`${shop.url}/privacy`)
  const center = page.locator("ck-preferences[inline]")
  await center.getByText("These choices apply to your account.").waitFor()
  // Signing in linked the anonymous visitor to the customer.
  expect(await shop.kit.resolveAlias(TENANT, { kind: "anonymous", value: visitor })).toBe(somchai.id)
  const news = center.getByRole("switch", { name: "News and offers" })
  await expect(news.isChecked()).resolves.toBe(true)
  await news.uncheck()
  await expect(center.getByRole("switch", { name: "Newsletter by email" }).isDisabled()).resolves.toBe(true)
  await center.getByRole("button", { name: "Save choices" }).click()
  await center.getByText("Your choices were saved.").waitFor()
  expect(await shop.kit.decide(TENANT, somchai.id, "marketing.email")).toMatchObject({
    allowed: false,
    reason: "parent_withdrawn",
  })

  // The operator sends both campaigns from the admin.
  await page.goto(`${shop.url}/admin/campaigns`)
  await page.getByRole("button", { name: "Send the newsletter (email)" }).click()
  await page.locator("#campaign-runs").waitFor()
  await page.getByRole("button", { name: "Send a LINE message" }).click()
  await page.locator("#campaign-runs tbody tr").nth(1).waitFor()
  const sentByEmail = Number(
    await page.locator("#campaign-runs tbody tr").nth(1).locator(".sent").textContent(),
  )
  expect(sentByEmail).toBeGreaterThan(10)

  // The mailbox: nothing new for Somchai, the newsletter and the LINE message for Malee.
  await page.goto(`${shop.url}/mailbox?customer=${somchai.id}`)
  await page.locator("#no-mail").waitFor()
  await page.locator("#no-line").waitFor()
  await page.goto(`${shop.url}/mailbox?customer=${malee.id}`)
  await expect(page.locator(".mail-subject").first().textContent()).resolves.toContain("(#1)")
  await expect(page.locator("#line-messages").textContent()).resolves.toContain("(#2)")
  // What the local providers received, not only what the page says.
  expect(shop.smtp.to(somchai.email)).toHaveLength(0)
  expect(shop.smtp.to(malee.email)).toHaveLength(1)
  expect(shop.smtp.to(malee.email)[0]?.header("list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click")
  expect(shop.smtp.mails).toHaveLength(sentByEmail)

  // The CRM was down: the withdrawal's delivery to it became a dead letter; back online, replay delivers it.
  await page.goto(`${shop.url}/admin`)
  // The propagation figures are live: the dead letter is counted without reloading the page.
  await page.locator("#dead-count", { hasText: /^1$/ }).waitFor()
  await page.reload()
  await expect(page.locator("#dead-letters").textContent()).resolves.toContain(somchai.id)
  await page.getByRole("button", { name: "Bring the CRM back online" }).click()
  await page.getByRole("button", { name: "Replay the selected" }).click()
  await eventually(async () => {
    await page.reload()
    return (await page.locator("#no-dead-letters").count()) > 0
  }, "the replayed delivery")
  await eventually(() => shop.crm.customers.get(somchai.id)?.consents.marketing === false, "the CRM to know")

  // The dashboard, with the year of seeded history in its charts.
  await page.locator("#rate-analytics path").first().waitFor()
  expect(await page.locator("svg.chart").count()).toBeGreaterThanOrEqual(6)
  await screenshot(page, "dashboard", true)
  await context.close()
})

it("an erasure request: the customer gets a receipt and the admin shows it with every system's completion", async () => {
  const context = await newContext(browser, shop, { lang: "en" })
  const page = await context.newPage()
  await signIn(page, shop, kanya.email)
  await page.goto(`${shop.url}/privacy/erase`)
  await page.getByLabel("I understand this cannot be undone").check()
  await page.getByRole("button", { name: "Send the erasure request" }).click()
  const erasureId = (await page.locator("#erasure-id").textContent())!.trim()
  const reference = (await page.locator("#erasure-reference").textContent())!.trim()
  expect(reference).toMatch(/^ER-/)
  // Signed out: the account page asks to sign in again.
  await page.goto(`${shop.url}/account`)
  await page.waitForURL(`${shop.url}/signin`)

  // Every system was asked to erase, and did.
  await eventually(
    async () => (await shop.kit.erasureStatus(TENANT, erasureId)).complete,
    "the erasure to complete",
  )
  expect((await shop.tables.customer(kanya.id))?.email).toBeNull()
  expect(shop.crm.erased).toContain(kanya.id)
  expect(shop.analytics.deletions.some((d) => d.distinctIds.includes(kanya.id))).toBe(true)
  expect(await shop.kit.history(TENANT, kanya.id)).toEqual([])

  await operatorSignIn(page, shop)
  const row = page.locator("#erasures tr", { hasText: reference })
  await expect(row.locator(".badge").textContent()).resolves.toBe("complete")
  await row.getByRole("link", { name: erasureId }).click()
  const receipt = page.locator("#erasure-receipt")
  await expect(receipt.textContent()).resolves.toContain(erasureId)
  await expect(receipt.textContent()).resolves.toMatch(/erased:[0-9a-f]{40}/)
  for (const system of ["posthog", "nodemailer", "line", "loyalty-crm"]) {
    await expect(page.getByRole("row", { name: new RegExp(`^${system} delivered`) }).count()).resolves.toBe(1)
  }
  await context.close()
})
