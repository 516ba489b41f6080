import { Gpp, Tcf, VendorList } from "@consentkit/iab"
import { GppModel } from "@iabgpp/cmpapi"
import { TCString } from "@iabtechlabtcf/core"
import { afterAll, describe, expect, it } from "vitest"
import { expectedPurposeConsents, makeKit, policy, vendorList } from "./fixtures.js"

const kit = makeKit()
afterAll(() => kit.close())
const options = { cmpId: 300, cmpVersion: 2, vendorList }

const ids = (vector: { forEach(cb: (value: boolean, id: number) => void): void }) => {
  const out: Array<number> = []
  vector.forEach((value, id) => {
    if (value) out.push(id)
  })
  return out
}

const record = (subject: string, action: "grant" | "deny" | "withdraw", purposes: ReadonlyArray<string>) =>
  kit.record({
    tenant: "shop",
    subject,
    source: "banner",
    decisions: purposes.map((purpose) => ({ purpose: purpose as "analytics", action, noticeVersion: 1 })),
  })

describe("TC strings from the ledger", () => {
  it("decode with @iabtechlabtcf/core to the visitor's choices, bit by bit, before and after a withdrawal", async () => {
    await record("v-1", "grant", ["analytics", "marketing", "marketing.ads"])
    await record("v-1", "deny", ["personalisation"])
    const before = TCString.decode(await Tcf.encode(options, policy, await kit.decisions("shop", "v-1")))
    expect(before.version).toBe(2)
    expect(before.policyVersion).toBe(5)
    expect(before.cmpId).toBe(300)
    expect(before.cmpVersion).toBe(2)
    expect(before.vendorListVersion).toBe(142)
    expect(before.isServiceSpecific).toBe(true)
    expect(before.publisherCountryCode).toBe("TH")
    for (let n = 1; n <= 11; n++) {
      expect(before.purposeConsents.has(n), `purpose ${n}`).toBe(
        expectedPurposeConsents(["analytics", "marketing.ads"]).includes(n),
      )
    }
    expect(ids(before.purposeConsents)).toEqual([1, 2, 3, 4, 7, 8, 9])
    expect(ids(before.specialFeatureOptins)).toEqual([1])
    // Legitimate interest stands until the visitor objects.
    expect(ids(before.purposeLegitimateInterests)).toEqual([10])
    // Vendor 2 needs 1, 8, 9; vendor 8 needs 1-4, 7 and special feature 1; 33 needs 2, 7; 21 needs 5, 6, 11.
    expect(ids(before.vendorConsents)).toEqual([2, 8, 33])
    expect(ids(before.vendorLegitimateInterests)).toEqual([21])
    expect(ids(before.vendorsDisclosed)).toEqual([2, 8, 21, 33])
    expect(ids(before.publisherConsents)).toEqual([1, 2, 3, 4, 7, 8, 9])

    // Withdrawing the parent withdraws marketing.ads with it.
    await record("v-1", "withdraw", ["marketing"])
    const decisions = await kit.decisions("shop", "v-1")
    expect(decisions.find((d) => d.purpose === "marketing.ads")!.reason).toBe("parent_withdrawn")
    const after = TCString.decode(await Tcf.encode(options, policy, decisions))
    for (let n = 1; n <= 11; n++) {
      expect(after.purposeConsents.has(n), `purpose ${n}`).toBe(
        expectedPurposeConsents(["analytics"]).includes(n),
      )
    }
    expect(ids(after.purposeConsents)).toEqual([1, 8, 9])
    expect(ids(after.specialFeatureOptins)).toEqual([])
    expect(ids(after.vendorConsents)).toEqual([2])
  })

  it("signals nothing for a visitor who has not chosen (opt-in) and objecting to legitimate interest clears it", async () => {
    const none = TCString.decode(await Tcf.encode(options, policy, await kit.decisions("shop", "v-2")))
    expect(ids(none.purposeConsents)).toEqual([])
    expect(ids(none.vendorConsents)).toEqual([])
    expect(ids(none.purposeLegitimateInterests)).toEqual([10])
    await record("v-2", "deny", ["improvement"])
    const objected = TCString.decode(await Tcf.encode(options, policy, await kit.decisions("shop", "v-2")))
    expect(ids(objected.purposeLegitimateInterests)).toEqual([])
    expect(ids(objected.vendorLegitimateInterests)).toEqual([])
  })

  it("discloses and consents only the vendors the host lists, and refuses vendors not on the list", async () => {
    await record("v-3", "grant", ["analytics", "marketing", "marketing.ads"])
    const decisions = await kit.decisions("shop", "v-3")
    const listed = TCString.decode(await Tcf.encode({ ...options, vendors: [8, 21] }, policy, decisions))
    expect(ids(listed.vendorsDisclosed)).toEqual([8, 21])
    expect(ids(listed.vendorConsents)).toEqual([8])
    await expect(Tcf.encode({ ...options, vendors: [8, 40] }, policy, decisions)).rejects.toThrow(/40/)
    await expect(Tcf.encode({ ...options, cmpId: 0 }, policy, decisions)).rejects.toThrow(Tcf.TcfError)
  })

  it("dates the string by the ledger's choices, to the day (UTC)", async () => {
    const decisions = await kit.decisions("shop", "v-6")
    const dated = TCString.decode(
      await Tcf.encode(options, policy, decisions, {
        created: new Date("2026-03-04T22:15:00Z"),
        lastUpdated: new Date("2026-05-06T01:02:03Z"),
      }),
    )
    expect(dated.created.toISOString()).toBe("2026-03-04T00:00:00.000Z")
    expect(dated.lastUpdated.toISOString()).toBe("2026-05-06T00:00:00.000Z")
    const today = new Date().toISOString().slice(0, 10)
    const undated = TCString.decode(await Tcf.encode(options, policy, decisions))
    expect(undated.lastUpdated.toISOString().slice(0, 10)).toBe(today)
  })

  it("refuses a vendor list that is not a v3 of policy version 5", async () => {
    const decisions = await kit.decisions("shop", "v-4")
    const v2 = { ...vendorList, gvlSpecificationVersion: 2 }
    await expect(Tcf.encode({ ...options, vendorList: v2 }, policy, decisions)).rejects.toThrow(
      VendorList.VendorListError,
    )
    const old = { ...vendorList, tcfPolicyVersion: 4 }
    await expect(Tcf.encode({ ...options, vendorList: old }, policy, decisions)).rejects.toThrow(
      /policy version 5/,
    )
  })
})

describe("GPP strings", () => {
  it("carry the TC string as the TCF EU section and US National opt-outs with GPC", async () => {
    await record("v-5", "grant", ["analytics", "marketing", "marketing.ads"])
    const decisions = await kit.decisions("shop", "v-5")
    const tcString = await Tcf.encode(options, policy, decisions)
    const granted = new GppModel(
      Gpp.encode({ tcString, usNational: Gpp.usNationalOf(policy, decisions, false) }),
    )
    expect(granted.getSectionIds()).toEqual([2, 7])
    expect(granted.encodeSection("tcfeuv2")).toBe(tcString)
    expect(granted.getFieldValue("usnat", "SaleOptOut")).toBe(2)
    expect(granted.getFieldValue("usnat", "SharingOptOut")).toBe(2)
    expect(granted.getFieldValue("usnat", "TargetedAdvertisingOptOut")).toBe(2)
    expect(granted.getFieldValue("usnat", "Gpc")).toBe(false)

    await record("v-5", "withdraw", ["marketing.ads"])
    const after = await kit.decisions("shop", "v-5")
    const withdrawn = new GppModel(
      Gpp.encode({
        tcString: await Tcf.encode(options, policy, after),
        usNational: Gpp.usNationalOf(policy, after, true),
      }),
    )
    expect(withdrawn.getFieldValue("usnat", "SaleOptOut")).toBe(1)
    expect(withdrawn.getFieldValue("usnat", "SharingOptOut")).toBe(1)
    expect(withdrawn.getFieldValue("usnat", "Gpc")).toBe(true)
    expect(withdrawn.getFieldValue("tcfeuv2", "PurposeConsents").slice(0, 11)).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      false,
      false,
    ])
  })

  it("has no US National section outside the US, and decode rejects what is not a GPP string", () => {
    const model = new GppModel(Gpp.encode({ tcString: "CQu26YAQu26YAEsACAENCOFgAIGAAAAAACY4ABEAAAAA" }))
    expect(model.getSectionIds()).toEqual([2])
    expect(Gpp.isUs("US-CA")).toBe(true)
    expect(Gpp.isUs("EU-FR")).toBe(false)
    expect(() => Gpp.decode("not-a-gpp-string")).toThrow(Gpp.GppError)
    expect(() => Tcf.decode("%%%")).toThrow(Tcf.TcfError)
  })
})
