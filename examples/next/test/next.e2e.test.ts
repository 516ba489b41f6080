/**
 * The Next.js example in production mode (`next start`) driven by Chromium: the consent routes
 * answer through the route handler, the banner comes from @consentkit/react, and after "Accept
 * all" the server component reads the visitor's decision through the kit.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { type Browser, chromium } from "playwright-core"
import { afterAll, beforeAll, expect, it } from "vitest"

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const appDir = fileURLToPath(new URL("..", import.meta.url))

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

let next: ChildProcess
let browser: Browser
let url = ""

beforeAll(async () => {
  const port = await freePort()
  // localhost is a secure context, so the handler's Secure cookie works over plain HTTP here.
  url = `http://localhost:${port}`
  next = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.resolve("next/dist/bin/next")),
      "start",
      "-p",
      String(port),
      "-H",
      "127.0.0.1",
    ],
    {
      cwd: appDir,
      env: {
        ...process.env,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        CONSENTKIT_SECRET: "next-example-test-secret-0123456789abcdef0123456789",
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  )
  for (let i = 0; i < 300; i++) {
    const up = await fetch(`${url}/consent/state`).then(
      (r) => r.ok,
      () => false,
    )
    if (up) break
    await new Promise((r) => setTimeout(r, 200))
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] })
})

afterAll(async () => {
  await browser?.close()
  next?.kill("SIGTERM")
})

it("serves the consent routes from a route handler", async () => {
  const response = await fetch(`${url}/consent/state`)
  expect(response.status).toBe(200)
  expect(response.headers.getSetCookie()[0]).toMatch(/^ck_vid=v_/)
  const body = await response.json()
  expect(body.decisions.map((d: { purpose: string; allowed: boolean }) => [d.purpose, d.allowed])).toEqual([
    ["analytics", false],
    ["marketing", false],
  ])
})

it("shows the banner, records Accept all, and the server component then reads the decision", async () => {
  const context = await browser.newContext({ locale: "en-US" })
  context.setDefaultTimeout(60_000)
  const page = await context.newPage()
  await page.goto(`${url}/`)
  await expect(page.locator("#server-decision").textContent()).resolves.toContain("no visitor yet")
  const banner = page.getByRole("dialog")
  await banner.waitFor()
  await banner.getByRole("button", { name: "Accept all" }).click()
  await page.locator("#client-decision", { hasText: "analytics in the browser: allowed" }).waitFor()
  await page.reload()
  await expect(page.locator("#server-decision").textContent()).resolves.toContain(
    "analytics on the server: allowed",
  )
  // The same visitor's state through the route handler agrees.
  const state = await page.evaluate(async () => (await fetch("/consent/state")).json())
  expect(state.decisions.find((d: { purpose: string }) => d.purpose === "analytics").allowed).toBe(true)
  await context.close()
})
