import { Policy } from "@consentkit/core"

/** The shop's consent policy: analytics on the site, offers by email and SMS. */
export const policy = Policy.define({
  controller: {
    name: "Siam Tea",
    contact: "Data Protection Officer",
    email: "dpo@siamtea.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://siamtea.example/privacy",
  defaultJurisdiction: "TH",
  purposes: {
    analytics: {
      title: { en: "Site analytics", th: "การวิเคราะห์เว็บไซต์" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "a1", material: true }],
      lifetime: { months: 13 },
      trackerCategories: ["analytics"],
    },
    "marketing.email": {
      title: { en: "Offers by email", th: "ข้อเสนอทางอีเมล" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "e1", material: true }],
      channels: ["email"],
    },
    "marketing.sms": {
      title: { en: "Offers by SMS", th: "ข้อเสนอทาง SMS" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "s1", material: true }],
      channels: ["sms"],
    },
  },
})

/** The purposes of the shop's policy. */
export type ShopPurpose = (typeof policy.purposeIds)[number]
