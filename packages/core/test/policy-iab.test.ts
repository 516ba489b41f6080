import { Policy } from "@consentkit/core"
import { describe, expect, it } from "vitest"

const base = {
  controller: {
    name: "Siam Tea",
    contact: "DPO",
    email: "dpo@siamtea.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://siamtea.example/privacy",
}
const version = [{ version: 1, effectiveAt: "2026-01-01", textHash: "a1", material: true }]
const withIab = (iab: unknown) =>
  Policy.define({
    ...base,
    purposes: { ads: { title: { en: "Ads" }, versions: version, iab: iab as Policy.IabMapping } },
  })

describe("a purpose's IAB TCF mapping", () => {
  it("is kept on the normalised purpose, and absent when not declared", () => {
    const policy = Policy.define({
      ...base,
      purposes: {
        ads: {
          title: { en: "Ads" },
          versions: version,
          iab: { tcfPurposes: [2, 3, 4], specialFeatures: [1] },
        },
        email: { title: { en: "Email" }, versions: version },
      },
    })
    expect(policy.purposes.get("ads")!.iab).toEqual({ tcfPurposes: [2, 3, 4], specialFeatures: [1] })
    expect(policy.purposes.get("email")!.iab).toBeUndefined()
  })

  it.each([
    [{ tcfPurposes: [0] }, /tcfPurposes/],
    [{ tcfPurposes: [12] }, /tcfPurposes/],
    [{ tcfPurposes: [1.5] }, /tcfPurposes/],
    [{ tcfPurposes: [] }, /tcfPurposes/],
    [{ tcfPurposes: [1], specialFeatures: [3] }, /specialFeatures/],
    [{ purposes: [1] }, /tcfPurposes/],
  ])("rejects %j", (iab, field) => {
    expect(() => withIab(iab)).toThrow(Policy.PolicyDefinitionError)
    expect(() => withIab(iab)).toThrow(field)
  })
})
