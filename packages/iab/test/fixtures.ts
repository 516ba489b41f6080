import { readFileSync } from "node:fs"
import { createConsentKit, MemoryStore, Policy } from "@consentkit/core"
import type { VendorList } from "@consentkit/iab"

/** A small GVL v3 (policy version 5): vendors 2, 8, 21, 33 and the deleted 40. */
export const vendorList = JSON.parse(
  readFileSync(new URL("./fixtures/vendor-list.json", import.meta.url), "utf8"),
) as VendorList.VendorListJson

const v1 = [{ version: 1, effectiveAt: "2026-01-01", textHash: "h1", material: true }]

/** A shop's policy with its purposes mapped onto TCF purposes. */
export const policy = Policy.define({
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
    personalisation: {
      title: { en: "Personalised content" },
      versions: v1,
      iab: { tcfPurposes: [5, 6, 11] },
    },
    improvement: {
      title: { en: "Improving the shop" },
      versions: v1,
      lawfulBasis: "legitimate_interest",
      iab: { tcfPurposes: [10] },
    },
    email: { title: { en: "Email newsletter" }, versions: v1, channels: ["email"] },
  },
})

export type PurposeId = (typeof policy.purposeIds)[number]

/** A kit on the in-memory store. */
export const makeKit = () =>
  createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "iab-test-0123456789abcdef0123456789abcdef",
    dispatcher: { autoStart: false },
  })

/** What TCF purpose n should carry for these allowed policy purposes, straight from the policy's mapping. */
export const expectedPurposeConsents = (allowed: ReadonlyArray<string>): Array<number> => {
  const out = new Set<number>()
  for (const id of allowed) {
    const p = policy.purposes.get(id as PurposeId)!
    if (p.iab && p.lawfulBasis === "consent") for (const n of p.iab.tcfPurposes) out.add(n)
  }
  return [...out].sort((a, b) => a - b)
}
