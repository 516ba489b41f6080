import { describe, expect, it } from "vitest"
import { hasDefault, pushDefault, pushUpdate } from "../src/DataLayer.js"
import * as Web from "../src/index.js"
import { mayRun, purposesOf } from "../src/Scripts.js"
import { fill, localize, pickLocale, TEXTS } from "../src/Texts.js"

describe("locale", () => {
  it("takes the first supported candidate: attribute, then <html lang>, then the browser's languages", () => {
    expect(pickLocale("th", "en")).toBe("th")
    expect(pickLocale(null, "", "th-TH", "en-US")).toBe("th")
    expect(pickLocale(undefined, "fr", "en-GB")).toBe("en")
    expect(pickLocale("de", "ja")).toBe("en")
  })

  it("localizes with an English fallback and fills placeholders", () => {
    expect(localize({ en: "Analytics", th: "การวิเคราะห์" }, "th")).toBe("การวิเคราะห์")
    expect(localize({ en: "Analytics" }, "th")).toBe("Analytics")
    expect(fill(TEXTS.en.noticeVersion, { n: 2 })).toBe("Notice version 2")
    expect(fill("{a} {b}", { a: 1 })).toBe("1 {b}")
  })

  it("has every text in both languages", () => {
    expect(Object.keys(TEXTS.th).sort()).toEqual(Object.keys(TEXTS.en).sort())
    expect(Object.keys(TEXTS.th.reasons).sort()).toEqual(Object.keys(TEXTS.en.reasons).sort())
  })
})

describe("dataLayer", () => {
  it("pushes the region defaults once, as gtag arguments, before any update", () => {
    const host: { dataLayer?: Array<unknown> } = {}
    expect(pushDefault(host)).toBe(true)
    expect(pushDefault(host)).toBe(false)
    expect(hasDefault(host)).toBe(true)
    const first = host.dataLayer![0] as ArrayLike<unknown>
    expect(Object.prototype.toString.call(first)).toBe("[object Arguments]")
    expect([first[0], first[1]]).toEqual(["consent", "default"])
    expect(first[2]).toMatchObject({ analytics_storage: "denied", security_storage: "granted" })
  })

  it("pushes an update only when the state changed", () => {
    const host: { dataLayer?: Array<unknown> } = {}
    const state = { analytics_storage: "granted", ad_storage: "denied" } as const
    const key = pushUpdate(host, state, null)
    expect(key).not.toBeNull()
    expect(pushUpdate(host, { ad_storage: "denied", analytics_storage: "granted" }, key)).toBeNull()
    expect(pushUpdate(host, { ...state, ad_storage: "granted" }, key)).not.toBeNull()
    expect(host.dataLayer!.map((e) => Array.from(e as ArrayLike<unknown>).slice(0, 2))).toEqual([
      ["consent", "update"],
      ["consent", "update"],
    ])
  })

  it("uses the page's own gtag when there is one", () => {
    const calls: Array<Array<unknown>> = []
    const host = { gtag: (...args: Array<unknown>) => void calls.push(args) }
    pushDefault(host)
    expect(calls.length).toBeGreaterThan(0)
    expect(calls.every((c) => c[0] === "consent" && c[1] === "default")).toBe(true)
  })
})

describe("script holding", () => {
  it("runs a held script only when every purpose it names is allowed", () => {
    const allowed = (p: string) => p === "analytics"
    expect(purposesOf(" analytics  advertising ")).toEqual(["analytics", "advertising"])
    expect(mayRun("analytics", allowed)).toBe(true)
    expect(mayRun("analytics advertising", allowed)).toBe(false)
    expect(mayRun("", allowed)).toBe(false)
    expect(mayRun(null, allowed)).toBe(false)
  })
})

it("loads outside a browser without registering anything", () => {
  expect(typeof Web.define).toBe("function")
  expect(Web.BANNER_TAG).toBe("ck-banner")
  expect(Web.PREFERENCES_TAG).toBe("ck-preferences")
})
