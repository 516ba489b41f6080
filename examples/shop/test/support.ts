/** What the browser tests share: Debian's Chromium through playwright-core, a shop per file, polling. */
import { existsSync, mkdirSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { type Shop, startShop } from "../src/shop.js"

/** Debian's Chromium (`apt-get install -y chromium`); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

/** Where screenshots go (gitignored at the root; CI keeps them as artifacts). */
export const ARTIFACTS = fileURLToPath(new URL("../../../artifacts/", import.meta.url))

/** Launches Chromium, or fails loudly with how to install it (never `npx playwright install`). */
export const launchChromium = async (): Promise<Browser> => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}. The browser tests drive Debian's Chromium: ` +
        "install it with `apt-get update && apt-get install -y chromium` (.ci/run does this), " +
        "or point CHROMIUM_PATH at a Chromium binary. Do not run `npx playwright install`.",
    )
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  })
}

/** A shop on a free port over a fresh SQLite file, seeded with a few hundred customers. */
export const startTestShop = (customers = 150): Promise<Shop> => {
  const dir = mkdtempSync(join(tmpdir(), "consentkit-shop-"))
  return startShop({
    port: 0,
    database: join(dir, "shop.sqlite"),
    customers,
    secret: "test-secret-of-the-demo-shop-0123456789abcdef0123456789abcdef",
  })
}

/** A browser context in the shop's language (`shop_lang`), optionally with extra headers. */
export const newContext = async (
  browser: Browser,
  shop: Shop,
  options: {
    readonly lang?: "th" | "en"
    readonly headers?: Record<string, string>
    readonly region?: string
  } = {},
): Promise<BrowserContext> => {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    extraHTTPHeaders: options.headers,
  })
  const cookies: Array<{ name: string; value: string; url: string }> = [
    { name: "shop_lang", value: options.lang ?? "th", url: shop.url },
  ]
  if (options.region) cookies.push({ name: "shop_region", value: options.region, url: shop.url })
  await context.addCookies(cookies)
  // Generous: the machines running these tests are shared and often busy.
  context.setDefaultTimeout(60_000)
  return context
}

/** The anonymous visitor id the consent routes gave this context. */
export const visitorOf = async (context: BrowserContext): Promise<string> => {
  const cookie = (await context.cookies()).find((c) => c.name === "ck_vid")
  if (!cookie) throw new Error("no ck_vid cookie yet")
  // The cookie carries `<visitor id>.<signature>`.
  return decodeURIComponent(cookie.value).split(".")[0]!
}

/** Signs a seeded customer in (password `siamtea`). */
export const signIn = async (page: Page, shop: Shop, email: string): Promise<void> => {
  await page.goto(`${shop.url}/signin`)
  await page.locator("#email").fill(email)
  await page.locator("#password").fill("siamtea")
  await page.locator("main form button[type=submit]").click()
  await page.waitForURL(`${shop.url}/account`)
}

/** Signs the demo operator in. */
export const operatorSignIn = async (page: Page, shop: Shop): Promise<void> => {
  await page.goto(`${shop.url}/admin/login`)
  await page.locator("#user").fill("dpo")
  await page.locator("#password").fill(shop.adminPassword)
  await page.locator("main form button[type=submit]").click()
  await page.waitForURL(`${shop.url}/admin`)
}

/** Saves a screenshot to the artifacts folder; returns its path. */
export const screenshot = async (page: Page, name: string, fullPage = false): Promise<string> => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path, fullPage })
  return path
}

/** Polls `check` until it returns a value that is not undefined/false, or fails with its last error. */
export const eventually = async <A>(
  check: () => A | Promise<A>,
  what: string,
  timeoutMs = 60_000,
): Promise<Exclude<A, false | undefined>> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value as Exclude<A, false | undefined>
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** The id of the element focused in the page, looking into shadow roots. */
export const focusedId = (page: Page): Promise<string | null> =>
  page.evaluate(() => {
    let active: Element | null = document.activeElement
    while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement
    return active ? active.id || active.tagName.toLowerCase() : null
  })
