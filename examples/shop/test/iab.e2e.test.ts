/**
 * The IAB CMP APIs on the demo page in Debian's Chromium: `__tcfapi('getTCData', 2, cb)` and
 * `__gpp('ping', cb)` answer with strings that decode (with the IAB's library) to exactly what the
 * ledger decides for the visitor, and change the moment the visitor accepts.
 */
import { TCString } from "@iabtechlabtcf/core"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, expect, it } from "vitest"
import { TENANT } from "../src/policy.js"
import type { Shop } from "../src/shop.js"
import { eventually, launchChromium, newContext, screenshot, startTestShop, visitorOf } from "./support.js"

let shop: Shop
let browser: Browser

beforeAll(async () => {
  ;[shop, browser] = await Promise.all([startTestShop(60), launchChromium()])
})

afterAll(async () => {
  await browser?.close()
  await shop?.close()
})

interface Answer {
  readonly success: boolean
  readonly data: {
    readonly tcString: string
    readonly eventStatus: string
    readonly cmpId: number
    readonly tcfPolicyVersion: number
    readonly gdprApplies: boolean
    readonly purpose: { readonly consents: Record<string, boolean> }
  }
}

const getTCData = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<Answer>((resolve) => {
        const w = window as unknown as {
          __tcfapi: (c: string, v: number, cb: (d: unknown, s: boolean) => void) => void
        }
        w.__tcfapi("getTCData", 2, (data, success) => resolve({ data, success } as Answer))
      }),
  )

const consented = (tcString: string) => {
  const out: Array<number> = []
  TCString.decode(tcString).purposeConsents.forEach((value, id) => {
    if (value) out.push(id)
  })
  return out
}

/** TCF purposes the ledger's decisions grant, by the shop policy's iab mapping. */
const fromLedger = async (visitor: string) => {
  const out = new Set<number>()
  for (const d of await shop.kit.decisions(TENANT, visitor)) {
    if (d.allowed)
      for (const n of shop.policy.purposes.get(d.purpose as "analytics")?.iab?.tcfPurposes ?? []) out.add(n)
  }
  return [...out].sort((a, b) => a - b)
}

it("answers __tcfapi('getTCData', 2, cb) on the demo page, and the TC string follows the visitor's choice", async () => {
  const context = await newContext(browser, shop, { lang: "en", region: "EU-DE" })
  const page = await context.newPage()
  await page.goto(`${shop.url}/teas/cha-thai`)
  const banner = page.getByRole("dialog")
  await banner.waitFor()

  const before = await getTCData(page)
  expect(before.success).toBe(true)
  expect(before.data).toMatchObject({
    cmpId: 300,
    tcfPolicyVersion: 5,
    gdprApplies: true,
    eventStatus: "tcloaded",
  })
  const visitor = await visitorOf(context)
  expect(consented(before.data.tcString)).toEqual([])
  expect(consented(before.data.tcString)).toEqual(await fromLedger(visitor))

  await page.evaluate(() => {
    const w = window as unknown as {
      __tcfapi: (
        c: string,
        v: number,
        cb: (d: { eventStatus: string; tcString: string }, s: boolean) => void,
      ) => void
      events: Array<string>
    }
    w.events = []
    w.__tcfapi("addEventListener", 2, (data) => w.events.push(`${data.eventStatus}:${data.tcString}`))
  })
  await page.getByRole("button", { name: /accept all/i }).click()
  await banner.waitFor({ state: "detached" })

  const update = await eventually(
    () =>
      page.evaluate(() =>
        (window as unknown as { events: Array<string> }).events.find((e) =>
          e.startsWith("useractioncomplete:"),
        ),
      ),
    "a TCF event after accepting",
  )
  const after = await getTCData(page)
  expect(update.slice("useractioncomplete:".length)).toBe(after.data.tcString)
  expect(consented(after.data.tcString)).toEqual([1, 2, 3, 4, 7, 8, 9, 10])
  expect(consented(after.data.tcString)).toEqual(await fromLedger(visitor))
  expect(after.data.purpose.consents["2"]).toBe(true)

  const gpp = await page.evaluate(
    () =>
      new Promise<{ gppString: string; applicableSections: Array<number> }>((resolve) => {
        const w = window as unknown as { __gpp: (c: string, cb: (d: unknown) => void) => void }
        w.__gpp("ping", (data) => resolve(data as { gppString: string; applicableSections: Array<number> }))
      }),
  )
  expect(gpp.applicableSections).toEqual([2])
  expect(gpp.gppString.split("~")[1]).toBe(after.data.tcString)
  // A vendor's script in an iframe finds the CMP through __tcfapiLocator and asks by postMessage.
  await page.evaluate(() => {
    const frame = document.createElement("iframe")
    frame.name = "vendor-frame"
    document.body.appendChild(frame)
  })
  const vendorFrame = await eventually(
    () => page.frame({ name: "vendor-frame" }) ?? undefined,
    "the vendor frame",
  )
  const framed = await vendorFrame.evaluate(
    () =>
      new Promise<{ success: boolean; tcString: string; callId: string }>((resolve) => {
        let target: Window | null = window
        while (target) {
          try {
            if ((target.frames as unknown as Record<string, unknown>).__tcfapiLocator) break
          } catch {}
          target = target === window.top ? null : target.parent
        }
        window.addEventListener("message", (event) => {
          const data = typeof event.data === "string" ? JSON.parse(event.data) : event.data
          const ret = data?.__tcfapiReturn
          if (ret) resolve({ success: ret.success, tcString: ret.returnValue.tcString, callId: ret.callId })
        })
        target!.postMessage(
          JSON.stringify({ __tcfapiCall: { command: "getTCData", version: 2, callId: "c-1" } }),
          "*",
        )
      }),
  )
  expect(framed).toEqual({ success: true, tcString: after.data.tcString, callId: "c-1" })
  await screenshot(page, "iab-tcfapi-accepted")
  await context.close()
})

it("answers a vendor frame that asks through __tcfapiLocator before the consentkit bundle has loaded", async () => {
  const context = await newContext(browser, shop, { lang: "en", region: "EU-DE" })
  // Hold the bundle back until the vendor frame's call is on its way: only the inline stub runs.
  let release!: () => void
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  await context.route("**/assets/consentkit-web.js", async (route) => {
    await held
    await route.continue()
  })
  const page = await context.newPage()
  // A module script defers DOMContentLoaded, so the page is still loading while the bundle is held.
  await page.goto(`${shop.url}/teas/cha-thai`, { waitUntil: "commit" })
  await eventually(
    () => page.evaluate(() => document.body !== null && document.readyState !== "complete"),
    "the page's body, still loading",
  )
  // The stub alone: no API installed yet, but the locator frames are there.
  expect(
    await page.evaluate(
      () => (window as { __tcfapi?: { consentkitStub?: boolean } }).__tcfapi?.consentkitStub,
    ),
  ).toBe(true)
  await eventually(
    () => page.evaluate(() => Boolean((window.frames as unknown as Record<string, unknown>).__tcfapiLocator)),
    "the __tcfapiLocator frame from the stub",
  )
  await page.evaluate(() => {
    const frame = document.createElement("iframe")
    frame.name = "early-vendor"
    document.body.appendChild(frame)
  })
  const vendorFrame = await eventually(
    () => page.frame({ name: "early-vendor" }) ?? undefined,
    "the vendor frame",
  )
  const answer = vendorFrame.evaluate(
    () =>
      new Promise<{ success: boolean; tcString: string; cmpStatus: string; callId: string }>((resolve) => {
        window.addEventListener("message", (event) => {
          const ret = (
            event.data as {
              __tcfapiReturn?: {
                success: boolean
                callId: string
                returnValue: { tcString: string; cmpStatus: string }
              }
            }
          )?.__tcfapiReturn
          if (ret)
            resolve({
              success: ret.success,
              tcString: ret.returnValue.tcString,
              cmpStatus: ret.returnValue.cmpStatus,
              callId: ret.callId,
            })
        })
        window.parent.postMessage(
          { __tcfapiCall: { command: "getTCData", version: 2, callId: "early-1" } },
          "*",
        )
      }),
  )
  // Queued by the stub: the frame is answered once the bundle installs the API.
  release()
  const framed = await answer
  expect(framed).toMatchObject({ success: true, cmpStatus: "loaded", callId: "early-1" })
  const visitor = await visitorOf(context)
  expect(consented(framed.tcString)).toEqual(await fromLedger(visitor))
  const ping = await page.evaluate(
    () =>
      new Promise<{ gvlVersion: number; cmpStatus: string }>((resolve) => {
        const w = window as unknown as { __tcfapi: (c: string, v: number, cb: (d: unknown) => void) => void }
        const ask = () =>
          w.__tcfapi("ping", 2, (d) => {
            const data = d as { gvlVersion: number; cmpStatus: string }
            if (data.cmpStatus === "loaded") resolve(data)
            else setTimeout(ask, 20)
          })
        ask()
      }),
  )
  expect(ping.gvlVersion).toBe(142)
  await context.close()
})
