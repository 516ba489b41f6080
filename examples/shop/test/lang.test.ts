import { afterAll, beforeAll, expect, it } from "vitest"
import { langOf } from "../src/app.js"
import type { Shop } from "../src/shop.js"
import { startTestShop } from "./support.js"

let shop: Shop
beforeAll(async () => {
  shop = await startTestShop(5)
})
afterAll(() => shop?.close())

it("picks the chosen language, else the browser's first of Thai and English, else Thai", () => {
  expect(langOf("en", "th-TH")).toBe("en")
  expect(langOf(undefined, "en-US,en;q=0.9")).toBe("en")
  expect(langOf(undefined, "de-DE,th;q=0.8,en;q=0.5")).toBe("th")
  expect(langOf(undefined, "de-DE")).toBe("th")
  expect(langOf(undefined, null)).toBe("th")
})

it("serves an English first visit in English and a Thai one in Thai", async () => {
  const english = await (
    await fetch(`${shop.url}/`, { headers: { "accept-language": "en-GB,en;q=0.9" } })
  ).text()
  expect(english).toMatch(/<html lang="en"/)
  const thai = await (await fetch(`${shop.url}/`, { headers: { "accept-language": "th-TH" } })).text()
  expect(thai).toMatch(/<html lang="th"/)
})
