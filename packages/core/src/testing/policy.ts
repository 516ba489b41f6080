import * as Policy from "../Policy.js"

/** The policy every conformance suite uses: a hierarchy, every channel, two tracker categories, a lifetime and a GPC purpose. */
export const conformancePolicy = Policy.define({
  controller: {
    name: "Conformance Co.",
    contact: "DPO",
    email: "dpo@conformance.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://conformance.example/privacy",
  defaultJurisdiction: "TH",
  purposes: {
    analytics: {
      title: { en: "Analytics", th: "การวิเคราะห์" },
      versions: [
        { version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "a1", material: true },
        { version: 2, effectiveAt: "2025-06-01T00:00:00Z", textHash: "a2", material: false },
      ],
      lifetime: { months: 13 },
      trackerCategories: ["analytics"],
    },
    marketing: {
      title: { en: "Marketing", th: "การตลาด" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "m1", material: true }],
      trackerCategories: ["advertising"],
      gpc: true,
    },
    "marketing.email": {
      title: { en: "Email offers", th: "ข้อเสนอทางอีเมล" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "e1", material: true }],
      channels: ["email"],
    },
    "marketing.sms": {
      title: { en: "SMS offers", th: "ข้อเสนอทาง SMS" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "s1", material: true }],
      channels: ["sms"],
    },
    "marketing.line": {
      title: { en: "LINE messages", th: "ข้อความ LINE" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "l1", material: true }],
      channels: ["line"],
    },
    "marketing.push": {
      title: { en: "Push notifications", th: "การแจ้งเตือนแบบพุช" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "p1", material: true }],
      channels: ["push"],
    },
  },
})

/** The purpose ids of the conformance policy. */
export type ConformancePurpose = (typeof conformancePolicy.purposeIds)[number]

let counter = 0
/** A tenant id no other test uses, so suites never depend on each other's data or order. */
export const uniqueTenant = (prefix = "ck"): string =>
  `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`
