import { readFileSync } from "node:fs"
import { createConsentKit, MemoryStore, Policy } from "@consentkit/core"
import { createHandler } from "@consentkit/http"
import { TCString } from "@iabtechlabtcf/core"
import { afterAll, describe, expect, it } from "vitest"
import { CMP_STUB, type CmpHost, ConsentClient, installCmpApi, stub } from "../src/index.js"

// The page's __tcfapi / __gpp against the real consent handler (iab option on, in-memory store):
// the page's fetch is routed to the handler with a cookie jar, as one browser would.
const vendorList = JSON.parse(readFileSync(new URL("./fixtures/vendor-list.json", import.meta.url), "utf8"))
const v1 = [{ version: 1, effectiveAt: "2026-01-01", textHash: "h1", material: true }]
const policy = Policy.define({
  controller: {
    name: "Siam Tea",
    contact: "DPO",
    email: "dpo@siamtea.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://siamtea.example/privacy",
  purposes: {
    analytics: { title: { en: "Analytics" }, versions: v1, iab: { tcfPurposes: [1, 8, 9] } },
    ads: {
      title: { en: "Ads" },
      versions: v1,
      gpc: true,
      iab: { tcfPurposes: [1, 2, 3, 4, 7], specialFeatures: [1] },
    },
  },
})
const kit = createConsentKit({
  policy,
  store: MemoryStore.make(),
  secret: "s-0123456789abcdef0123456789abcdef",
  dispatcher: { autoStart: false },
})
afterAll(() => kit.close())
const handler = createHandler(kit, {
  tenant: "web-cmp",
  cookie: { secure: false },
  jurisdiction: (request) => request.headers.get("x-geo") ?? undefined,
  iab: { cmpId: 300, cmpVersion: 2, vendorList },
})

/** One browser: a cookie jar in front of the handler. */
const browser = (headers: Record<string, string> = {}): typeof fetch => {
  let cookie = ""
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(new URL(String(input), "https://shop.example"), init)
    for (const [k, v] of Object.entries(headers)) request.headers.set(k, v)
    if (cookie) request.headers.set("cookie", cookie)
    const response = await handler(request)
    const set = response.headers.getSetCookie()[0]
    if (set) cookie = set.split(";")[0]!
    return response
  }) as typeof fetch
}

type Answer = { value: unknown; success: boolean }
const call = (host: CmpHost, command: string, parameter?: unknown) =>
  new Promise<Answer>((resolve) =>
    host.__tcfapi!(command, 2, (value, success) => resolve({ value, success }), parameter),
  )
const gpp = (host: CmpHost, command: string, parameter?: unknown) =>
  new Promise<Answer>((resolve) =>
    host.__gpp!(command, (value, success) => resolve({ value, success }), parameter),
  )

const consents = (tcString: string) => {
  const out: Array<number> = []
  TCString.decode(tcString).purposeConsents.forEach((value, id) => {
    if (value) out.push(id)
  })
  return out
}

describe("__tcfapi", () => {
  it("answers calls queued by the stub, then getTCData, and tells listeners the moment a choice changes", async () => {
    const host: CmpHost = {}
    stub(host)
    const early = call(host, "getTCData")
    const stubPing = await call(host, "ping")
    expect(stubPing.value).toMatchObject({ cmpLoaded: false, cmpStatus: "stub" })

    const fetch = browser()
    const client = new ConsentClient({ fetch })
    const api = installCmpApi({ host, fetch, changes: client })
    const first = await early
    expect(first.success).toBe(true)
    const data = first.value as {
      tcString: string
      eventStatus: string
      cmpStatus: string
      purpose: { consents: Record<number, boolean> }
    }
    expect(data).toMatchObject({
      eventStatus: "tcloaded",
      cmpStatus: "loaded",
      cmpId: 300,
      tcfPolicyVersion: 5,
    })
    expect(consents(data.tcString)).toEqual([])
    expect(data.purpose.consents[1]).toBe(false)

    const ping = (await call(host, "ping")).value
    expect(ping).toMatchObject({
      cmpLoaded: true,
      cmpStatus: "loaded",
      apiVersion: "2.3",
      cmpId: 300,
      tcfPolicyVersion: 5,
      gvlVersion: vendorList.vendorListVersion,
    })

    const events: Array<{ tcString: string; eventStatus: string; listenerId: number }> = []
    host.__tcfapi!("addEventListener", 2, (value, success) => {
      if (success) events.push(value as (typeof events)[number])
    })
    expect(events).toHaveLength(1)
    expect(events[0]!.eventStatus).toBe("tcloaded")
    const listenerId = events[0]!.listenerId

    await client.load()
    await client.record([{ purpose: "analytics", action: "grant", noticeVersion: 1 }], "banner")
    await expect.poll(() => events.at(-1)?.eventStatus).toBe("useractioncomplete")
    await expect.poll(() => consents(events.at(-1)!.tcString)).toEqual([1, 8, 9])
    const now = (await call(host, "getTCData")).value as {
      tcString: string
      vendor: { consents: Record<number, boolean> }
    }
    expect(now.tcString).toBe(api.state()!.tcString)
    expect(now.vendor.consents).toEqual({ 2: true, 8: false, 21: false, 33: false })
    const some = (await call(host, "getTCData", [8, 2])).value as {
      vendor: { consents: Record<number, boolean> }
    }
    expect(some.vendor.consents).toEqual({ 8: false, 2: true })

    expect((await call(host, "removeEventListener", listenerId)).value).toBe(true)
    const seen = events.length
    await client.record([{ purpose: "analytics", action: "withdraw", noticeVersion: 1 }], "preference-center")
    await expect
      .poll(async () => consents(((await call(host, "getTCData")).value as { tcString: string }).tcString))
      .toEqual([])
    expect(events).toHaveLength(seen)
  })

  it("answers getTCData with success false when the server sends no strings (no iab option)", async () => {
    const plain = createHandler(kit, { tenant: "web-cmp", cookie: { secure: false } })
    const host: CmpHost = {}
    stub(host)
    const early = call(host, "getTCData")
    installCmpApi({
      host,
      fetch: ((input: RequestInfo | URL) =>
        plain(new Request(new URL(String(input), "https://shop.example")))) as typeof fetch,
    })
    expect(await early).toEqual({ value: null, success: false })
  })

  it("refuses other versions and unknown commands, and installs once", async () => {
    const host: CmpHost = {}
    const api = installCmpApi({ host, fetch: browser() })
    expect(installCmpApi({ host, fetch: browser() })).toBe(api)
    const v1answer = await new Promise<Answer>((resolve) =>
      host.__tcfapi!("getTCData", 1, (value, success) => resolve({ value, success })),
    )
    expect(v1answer.success).toBe(false)
    expect((await call(host, "getVendorList")).success).toBe(false)
  })

  it("ships the stub as an inline script that queues calls like stub() does, and the API answers them", async () => {
    const host = new Function("window", `${CMP_STUB} return window`)({}) as CmpHost
    const byFunction: CmpHost = {}
    stub(byFunction)
    for (const h of [host, byFunction]) {
      expect(h.__tcfapi!.consentkitStub).toBe(true)
      expect((await call(h, "ping")).value).toEqual({
        gdprApplies: undefined,
        cmpLoaded: false,
        cmpStatus: "stub",
        apiVersion: "2.3",
      })
      expect(((await gpp(h, "ping")).value as { cmpStatus: string }).cmpStatus).toBe("stub")
    }
    const early = call(host, "getTCData")
    host.__gpp!("addEventListener", () => {})
    expect((host.__tcfapi!() as Array<unknown>).length).toBe(1)
    expect((host.__gpp!() as Array<unknown>).length).toBe(1)
    installCmpApi({ host, fetch: browser() })
    expect(((await early).value as { cmpId: number }).cmpId).toBe(300)
  })
})

describe("__gpp", () => {
  it("serves the GPP string with its sections and the US National fields, and signals changes", async () => {
    const host: CmpHost = {}
    stub(host)
    const fetch = browser({ "x-geo": "US-CA" })
    const client = new ConsentClient({ fetch })
    const events: Array<{ eventName: string; pingData: { gppString: string } }> = []
    host.__gpp!("addEventListener", (value) => events.push(value as (typeof events)[number]))
    const api = installCmpApi({ host, fetch, changes: client })
    await api.refresh()
    expect(events[0]!.eventName).toBe("listenerRegistered")
    const ping = (await gpp(host, "ping")).value as Record<string, unknown>
    expect(ping).toMatchObject({
      gppVersion: "1.1",
      cmpStatus: "loaded",
      signalStatus: "ready",
      sectionList: [2, 7],
      applicableSections: [7],
    })
    expect(ping.gppString).toBe(api.state()!.gppString)
    expect((await gpp(host, "hasSection", "usnat")).value).toBe(true)
    expect((await gpp(host, "getField", "usnat.Gpc")).value).toBe(false)
    // California is opt-out: until the visitor objects, ads (the sale / sharing purpose) run.
    expect((await gpp(host, "getField", "usnat.SaleOptOut")).value).toBe(2)
    expect((await gpp(host, "getSection", "tcfeuv2")).value).toMatchObject({ PolicyVersion: 5, CmpId: 300 })

    await client.record([{ purpose: "ads", action: "withdraw", noticeVersion: 1 }], "preference-center")
    await expect.poll(() => events.some((e) => e.eventName === "sectionChange")).toBe(true)
    await expect.poll(async () => (await gpp(host, "getField", "usnat.SaleOptOut")).value).toBe(1)
    expect((await gpp(host, "getField", "usnat.SharingOptOut")).value).toBe(1)
    expect((await gpp(host, "removeEventListener", 1)).value).toMatchObject({
      eventName: "listenerRemoved",
      data: true,
    })
    expect((await gpp(host, "removeEventListener", 1)).success).toBe(false)
  })
})
