import { Policy } from "@consentkit/core"

const version = [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "v1", material: true }]

/** A brand's usual five purposes. */
export const benchPolicy = Policy.define({
  controller: {
    name: "Bench Co.",
    contact: "DPO",
    email: "dpo@bench.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://bench.example/privacy",
  purposes: {
    analytics: {
      title: { en: "Analytics" },
      versions: version,
      lifetime: { months: 13 },
      trackerCategories: ["analytics"],
    },
    marketing: { title: { en: "Marketing" }, versions: version, trackerCategories: ["advertising"] },
    "marketing.email": { title: { en: "Email" }, versions: version, channels: ["email"] },
    "marketing.sms": { title: { en: "SMS" }, versions: version, channels: ["sms"] },
    "marketing.line": { title: { en: "LINE" }, versions: version, channels: ["line"] },
  },
})

/** The purpose ids. */
export const PURPOSES = benchPolicy.purposeIds
