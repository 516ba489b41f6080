import { Policy } from "@consentkit/core"

/** A policy with the shapes the tests need: a hierarchy, channels, categories, lifetimes, GPC and a guardian rule. */
export const policy = Policy.define({
  controller: {
    name: "Siam Tea Co.",
    contact: "Data Protection Officer",
    email: "dpo@siamtea.example",
    phone: "+66 2 000 0000",
    address: { streetAddress: "1 Sukhumvit Rd", addressLocality: "Bangkok", addressCountry: "TH" },
  },
  policyUrl: "https://siamtea.example/privacy",
  defaultJurisdiction: "TH",
  purposes: {
    analytics: {
      title: { en: "Analytics", th: "การวิเคราะห์" },
      versions: [
        { version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "a1", material: true },
        { version: 2, effectiveAt: "2025-06-01T00:00:00Z", textHash: "a2", material: false },
        { version: 3, effectiveAt: "2026-01-01T00:00:00Z", textHash: "a3", material: true },
      ],
      lifetime: { months: 13 },
      trackerCategories: ["analytics"],
    },
    marketing: {
      title: { en: "Marketing", th: "การตลาด" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "m1", material: true }],
      channels: [],
      trackerCategories: ["advertising"],
      gpc: true,
    },
    "marketing.email": {
      title: { en: "Email offers", th: "ข้อเสนอทางอีเมล" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "me1", material: true }],
      channels: ["email"],
    },
    "marketing.line": {
      title: { en: "LINE messages", th: "ข้อความ LINE" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "ml1", material: true }],
      channels: ["line"],
      guardian: true,
    },
    "marketing.sms": {
      title: { en: "SMS offers", th: "ข้อเสนอทาง SMS" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "ms1", material: true }],
      channels: ["sms"],
    },
    orders: {
      title: { en: "Order fulfilment", th: "การจัดส่งสินค้า" },
      lawfulBasis: "contract",
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "o1", material: false }],
    },
  },
})

export type PurposeId = (typeof policy.purposeIds)[number]

let counter = 0
/** A tenant no other test uses. */
export const freshTenant = (prefix = "t") =>
  `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`
