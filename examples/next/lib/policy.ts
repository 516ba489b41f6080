import { Policy } from "@consentkit/core"

const v1 = [{ version: 1, effectiveAt: "2026-01-01", textHash: "sha256-of-notice-v1", material: true }]

/** The example's purposes. */
export const policy = Policy.define({
  controller: {
    name: "Siam Tea Co.",
    contact: "DPO",
    email: "dpo@siamtea.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "/privacy",
  purposes: {
    analytics: {
      title: { en: "Analytics", th: "การวิเคราะห์" },
      versions: v1,
      trackerCategories: ["analytics"],
    },
    marketing: { title: { en: "News and offers", th: "ข่าวสารและข้อเสนอ" }, versions: v1, channels: ["email"] },
  },
})

export type Purpose = (typeof policy.purposeIds)[number]
