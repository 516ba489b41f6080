import { createConsentKit, MemoryStore } from "@consentkit/core"
import { conformancePolicy, uniqueTenant } from "@consentkit/core/testing"
import { createHandler } from "@consentkit/http"
import { afterAll, expect, it } from "vitest"

const kit = createConsentKit({
  policy: conformancePolicy,
  store: MemoryStore.make(),
  secret: "s-0123456789abcdef0123456789abcdef",
  dispatcher: { autoStart: false },
})
afterAll(() => kit.close())

const grant = JSON.stringify({ decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }] })

/** A visitor with the handler's signed cookie, recording a grant with the given `_ga` cookie value. */
const visitorRecording = async (tenant: string, ga: string | null) => {
  const handler = createHandler(kit, { tenant, cookie: { name: "vid" } })
  const issued = (await handler(new Request("https://shop.example/consent/state"))).headers.getSetCookie()[0]!
  const cookie = issued.split(";")[0]!
  const visitor = decodeURIComponent(cookie.slice("vid=".length)).split(".")[0]!
  const response = await handler(
    new Request("https://shop.example/consent/record", {
      method: "POST",
      headers: {
        cookie: ga === null ? cookie : `${cookie}; _ga=${ga}`,
        "content-type": "application/json",
        "sec-fetch-site": "same-origin",
      },
      body: grant,
    }),
  )
  return { visitor, status: response.status }
}

it("links the _ga cookie's client id to the subject, so erasure reaches that browser's GA data", async () => {
  const tenant = uniqueTenant()
  const { visitor, status } = await visitorRecording(tenant, "GA1.1.1234567890.1700000000")
  expect(status).toBe(201)
  expect(await kit.resolveAlias(tenant, { kind: "ga4:client_id", value: "1234567890.1700000000" })).toBe(
    visitor,
  )
  expect((await kit.export(tenant, visitor)).aliases).toEqual([
    { kind: "ga4:client_id", value: "1234567890.1700000000" },
  ])
  // Linking is not a consent decision: only the grant is on the ledger.
  expect((await kit.history(tenant, visitor)).map((e) => e.purpose)).toEqual(["analytics"])
  const receipt = await kit.erase({ tenant, subject: visitor })
  expect(receipt.erasureId).toBeTruthy()
})

it("ignores a malformed or hostile _ga cookie and writes no alias", async () => {
  const hostile = [
    "GA1.1.1234567890",
    "GA1.1.1234567890.1700000000.5",
    "GA1.1.abc.1700000000",
    "GA1.1.-1.1700000000",
    "GA1.1.1234567890.1700000000%0Aevil",
    "GA1.1.0001234567.1700000000",
    "GA1.0.1234567890.1700000000",
    "GA2.1.1234567890.1700000000",
    `GA1.1.${"9".repeat(11)}.1700000000`,
    `GA1.1.1234567890.${"1".repeat(11)}`,
    "GA1.1.١٢٣٤.1700000000",
    "GA1.1.1234567890.1700000000 ",
    `GA1.1.${"1".repeat(5000)}.1700000000`,
    "GA1.1.1234567890.1700000000; vid=x",
    "",
  ]
  for (const value of hostile) {
    const tenant = uniqueTenant()
    const { visitor, status } = await visitorRecording(tenant, encodeURIComponent(value))
    // The grant itself records; the cookie is only ever ignored.
    expect(status, value).toBe(201)
    expect((await kit.export(tenant, visitor)).aliases, value).toEqual([])
  }
  const tenant = uniqueTenant()
  const { visitor } = await visitorRecording(tenant, null)
  expect((await kit.export(tenant, visitor)).aliases).toEqual([])
})

it("never links a client id another subject already holds", async () => {
  const tenant = uniqueTenant()
  const first = await visitorRecording(tenant, "GA1.2.987654321.1710000000")
  const second = await visitorRecording(tenant, "GA1.2.987654321.1710000000")
  expect(await kit.resolveAlias(tenant, { kind: "ga4:client_id", value: "987654321.1710000000" })).toBe(
    first.visitor,
  )
  expect((await kit.export(tenant, second.visitor)).aliases).toEqual([])
})
