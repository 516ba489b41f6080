import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { createConsentKit, MemoryStore, Policy } from "@consentkit/core"
import { createHandler, type IabOptions } from "@consentkit/http"
import { sendWebResponse, toWebRequest } from "@consentkit/http/node"
import type { Cmp } from "@consentkit/iab"
import { GppModel } from "@iabgpp/cmpapi"
import { TCString } from "@iabtechlabtcf/core"
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest"

// The handler's iab option end to end: a kit on the in-memory store, the real handler on node:http,
// requests over fetch, and every string decoded with the IAB's own libraries.
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
    marketing: { title: { en: "Marketing" }, versions: v1 },
    "marketing.ads": {
      title: { en: "Personalised ads" },
      versions: v1,
      gpc: true,
      iab: { tcfPurposes: [1, 2, 3, 4, 7], specialFeatures: [1] },
    },
    personalisation: { title: { en: "Content" }, versions: v1, iab: { tcfPurposes: [5, 6, 11] } },
    email: { title: { en: "Email" }, versions: v1, channels: ["email"] },
  },
})
const kit = createConsentKit({
  policy,
  store: MemoryStore.make(),
  secret: "s-0123456789abcdef0123456789abcdef",
  dispatcher: { autoStart: false },
})
const iab = { cmpId: 300, cmpVersion: 2, vendorList }

const serve = async (handler: (request: Request) => Promise<Response>) => {
  const server = createServer((req, res) => {
    handler(toWebRequest(req))
      .then((response) => sendWebResponse(res, response))
      .catch((error) => {
        res.statusCode = 500
        res.end(String(error))
      })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const tenant = "iab-shop"
let base = ""
let plainBase = ""
const closers: Array<() => Promise<void>> = []
beforeAll(async () => {
  const geo = (request: Request) => request.headers.get("x-geo") ?? undefined
  const withIab = await serve(
    createHandler(kit, { tenant, cookie: { secure: false }, jurisdiction: geo, iab }),
  )
  const plain = await serve(createHandler(kit, { tenant, cookie: { secure: false } }))
  base = withIab.url
  plainBase = plain.url
  closers.push(withIab.close, plain.close)
})
afterAll(async () => {
  for (const close of closers) await close()
  await kit.close()
})

interface StateBody {
  decisions: Array<{ purpose: string; allowed: boolean; reason: string }>
  tcString: string
  gppString: string
  tcData: Cmp.TcData
  gppData: Cmp.GppData
}

/** Each named test visitor, as the server issued it (its id and the signed cookie). */
const visitors = new Map<string, Promise<{ id: string; cookie: string }>>()
const issued = (name: string) => {
  let found = visitors.get(name)
  if (!found) {
    found = fetch(`${plainBase}/consent/state`).then((response) => {
      const value = decodeURIComponent(
        response.headers.getSetCookie()[0]!.split(";")[0]!.slice("ck_vid=".length),
      )
      return { id: value.split(".")[0]!, cookie: `ck_vid=${value}` }
    })
    visitors.set(name, found)
  }
  return found
}
const idOf = async (name: string) => (await issued(name)).id

const state = async (visitor: string, headers: Record<string, string> = {}, at = base) => {
  const response = await fetch(`${at}/consent/state`, {
    headers: { cookie: (await issued(visitor)).cookie, ...headers },
  })
  expect(response.status).toBe(200)
  return (await response.json()) as StateBody
}
const record = async (visitor: string, body: unknown, at = base) =>
  fetch(`${at}/consent/record`, {
    method: "POST",
    headers: { cookie: (await issued(visitor)).cookie, "content-type": "application/json" },
    body: JSON.stringify(body),
  })
const choose = (action: string, purposes: ReadonlyArray<string>) => ({
  decisions: purposes.map((purpose) => ({ purpose, action, noticeVersion: 1 })),
})

const ids = (vector: { forEach(cb: (value: boolean, id: number) => void): void }) => {
  const out: Array<number> = []
  vector.forEach((value, id) => {
    if (value) out.push(id)
  })
  return out
}

/** Every TCF purpose bit against what the ledger decides for the visitor now. */
const expectBitsMatch = async (body: StateBody, visitor: string) => {
  const tc = TCString.decode(body.tcString)
  const ledger = await kit.decisions(tenant, await idOf(visitor))
  expect(body.decisions.map((d) => [d.purpose, d.allowed])).toEqual(ledger.map((d) => [d.purpose, d.allowed]))
  const allowed = ledger.filter((d) => d.allowed).map((d) => d.purpose)
  for (let n = 1; n <= 11; n++) {
    const granted = allowed.some((id) => policy.purposes.get(id as "analytics")?.iab?.tcfPurposes.includes(n))
    expect(tc.purposeConsents.has(n), `TCF purpose ${n}`).toBe(granted)
    expect(body.tcData.purpose.consents[n], `TCData purpose ${n}`).toBe(granted)
  }
  const sf1 = allowed.some((id) => policy.purposes.get(id as "analytics")?.iab?.specialFeatures?.includes(1))
  expect(tc.specialFeatureOptins.has(1)).toBe(sf1)
  return tc
}

describe("GET /state with the iab option", () => {
  it("answers TC and GPP strings that decode to exactly the visitor's choices, and follow a withdrawal", async () => {
    const visitor = "visitor-iab-0001"
    const fresh = await state(visitor)
    const none = await expectBitsMatch(fresh, visitor)
    expect(ids(none.purposeConsents)).toEqual([])
    expect(none.policyVersion).toBe(5)
    expect(ids(none.vendorsDisclosed)).toEqual([2, 8, 21, 33])

    expect((await record(visitor, choose("grant", ["analytics", "marketing", "marketing.ads"]))).status).toBe(
      201,
    )
    const granted = await state(visitor)
    const tc = await expectBitsMatch(granted, visitor)
    expect(ids(tc.purposeConsents)).toEqual([1, 2, 3, 4, 7, 8, 9])
    expect(ids(tc.vendorConsents)).toEqual([2, 8, 33])
    expect(tc.cmpId).toBe(300)
    expect(granted.tcData).toMatchObject({
      tcString: granted.tcString,
      cmpId: 300,
      tcfPolicyVersion: 5,
      publisherCC: "TH",
    })
    expect(granted.tcData.vendor.consents).toEqual({ 2: true, 8: true, 21: false, 33: true })
    const gpp = new GppModel(granted.gppString)
    expect(gpp.getSectionIds()).toEqual([2])
    expect(gpp.encodeSection("tcfeuv2")).toBe(granted.tcString)
    expect(granted.gppString.split("~")[1]).toBe(granted.tcString)

    expect((await record(visitor, choose("withdraw", ["marketing"]))).status).toBe(201)
    const withdrawn = await state(visitor)
    expect(withdrawn.decisions.find((d) => d.purpose === "marketing.ads")).toMatchObject({
      allowed: false,
      reason: "parent_withdrawn",
    })
    const after = await expectBitsMatch(withdrawn, visitor)
    expect(ids(after.purposeConsents)).toEqual([1, 8, 9])
    expect(ids(after.vendorConsents)).toEqual([2])
    expect(new GppModel(withdrawn.gppString).encodeSection("tcfeuv2")).toBe(withdrawn.tcString)
  })

  it("adds a US National section for US visitors: opt-out defaults, then GPC and a withdrawal opt out of sale and sharing", async () => {
    const visitor = "visitor-iab-0002"
    const us = await state(visitor, { "x-geo": "US-CA" })
    const before = new GppModel(us.gppString)
    expect(before.getSectionIds()).toEqual([2, 7])
    expect(us.gppData.applicableSections).toEqual([7])
    expect(before.getFieldValue("usnat", "SaleOptOut")).toBe(2)
    expect(before.getFieldValue("usnat", "SharingOptOut")).toBe(2)
    expect(before.getFieldValue("usnat", "Gpc")).toBe(false)
    expect(us.tcData.gdprApplies).toBe(false)

    const gpc = await state(visitor, { "x-geo": "US-CA", "sec-gpc": "1" })
    const opted = new GppModel(gpc.gppString)
    expect(opted.getFieldValue("usnat", "SaleOptOut")).toBe(1)
    expect(opted.getFieldValue("usnat", "SharingOptOut")).toBe(1)
    expect(opted.getFieldValue("usnat", "TargetedAdvertisingOptOut")).toBe(1)
    expect(opted.getFieldValue("usnat", "Gpc")).toBe(true)

    const other = "visitor-iab-0003"
    expect((await record(other, choose("withdraw", ["marketing.ads"]))).status).toBe(201)
    const withdrawn = new GppModel((await state(other, { "x-geo": "US-CA" })).gppString)
    expect(withdrawn.getFieldValue("usnat", "SaleOptOut")).toBe(1)
    expect(withdrawn.getFieldValue("usnat", "Gpc")).toBe(false)

    const eu = await state("visitor-iab-0004", { "x-geo": "EU-FR" })
    expect(eu.tcData.gdprApplies).toBe(true)
    expect(eu.gppData.applicableSections).toEqual([2])
    expect(new GppModel(eu.gppString).getSectionIds()).toEqual([2])
  })

  it("still answers the decisions, without the strings, when the vendor list cannot be loaded, and reports why", async () => {
    const seen: Array<unknown> = []
    const handler = createHandler(kit, {
      tenant,
      iab: {
        ...iab,
        vendorList: () => Promise.reject(new Error("vendor list unreachable")),
      },
      onError: (error) => seen.push(error),
    })
    const response = await handler(new Request("https://shop.example/consent/state"))
    expect(response.status).toBe(200)
    const body = await response.json()
    expect(body.decisions).toHaveLength(policy.purposeIds.length)
    expect(body).not.toHaveProperty("tcString")
    expect(String(seen[0])).toMatch(/vendor list unreachable/)
  })

  it("dates the TC string by when the visitor chose", async () => {
    const visitor = "visitor-iab-0009"
    const chosen = new Date(Date.now() - 3 * 86_400_000)
    // A browser cannot backdate (the server sets the time); an import or the POS can.
    await kit.record({
      tenant,
      subject: await idOf(visitor),
      source: "pos",
      occurredAt: chosen,
      decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 1 }],
    })
    const tc = TCString.decode((await state(visitor)).tcString)
    expect(tc.lastUpdated.toISOString().slice(0, 10)).toBe(chosen.toISOString().slice(0, 10))
    expect(tc.created.toISOString().slice(0, 10)).toBe(chosen.toISOString().slice(0, 10))
  })

  it("leaves the state response as it was without the option", async () => {
    const body = (await state("visitor-iab-0005", {}, plainBase)) as unknown as Record<string, unknown>
    expect(body).not.toHaveProperty("tcString")
    expect(body).not.toHaveProperty("gppString")
    expect(body).toHaveProperty("consentMode")
  })
})

describe("TC and GPP strings sent with choices", () => {
  it("are kept as the evidence of the decisions they produced", async () => {
    const visitor = "visitor-iab-0006"
    const { tcString, gppString } = await state(visitor)
    const response = await record(visitor, {
      ...choose("grant", ["analytics"]),
      evidence: { metadata: { banner: "v3" } },
      tcString,
      gppString,
    })
    expect(response.status).toBe(201)
    const [event] = await kit.history(tenant, await idOf(visitor))
    expect(event!.purpose).toBe("analytics")
    expect(event!.evidence.metadata).toEqual({ banner: "v3", tcString, gppString })

    // Alone, or with evidence that has no metadata yet.
    const other = "visitor-iab-0008"
    expect((await record(other, { ...choose("grant", ["analytics"]), tcString })).status).toBe(201)
    expect(
      (await record(other, { ...choose("deny", ["email"]), evidence: { locale: "th" }, gppString })).status,
    ).toBe(201)
    const events = await kit.history(tenant, await idOf(other))
    expect(events.map((e) => e.evidence.metadata)).toEqual([{ tcString }, { gppString }])
    expect(events[1]!.evidence.locale).toBe("th")
  })

  it("are refused with nothing written when they do not decode, or when the handler has no iab option", async () => {
    const visitor = "visitor-iab-0007"
    const bad = await record(visitor, { ...choose("grant", ["analytics"]), tcString: "not a tc string" })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.issues[0].path).toEqual(["tcString"])
    const badGpp = await record(visitor, { ...choose("grant", ["analytics"]), gppString: 42 })
    expect(badGpp.status).toBe(400)
    const { tcString } = await state(visitor)
    const plain = await record(visitor, { ...choose("grant", ["analytics"]), tcString }, plainBase)
    expect(plain.status).toBe(400)
    expect(await kit.history(tenant, await idOf(visitor))).toEqual([])
  })
})

it("takes @consentkit/iab's own options type as its iab option", () => {
  expectTypeOf<Cmp.Options>().toExtend<IabOptions>()
})
