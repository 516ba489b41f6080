import { Policy } from "@consentkit/core"

const v1 = (textHash: string) => [
  { version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash, material: true },
]

/** The policy every reliability test uses: two tracker purposes and three messaging channels under `marketing`. */
export const policy = Policy.define({
  controller: {
    name: "Reliability Co.",
    contact: "DPO",
    email: "dpo@reliability.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://reliability.example/privacy",
  defaultJurisdiction: "TH",
  purposes: {
    analytics: { title: { en: "Analytics" }, versions: v1("a1"), trackerCategories: ["analytics"] },
    marketing: { title: { en: "Marketing" }, versions: v1("m1"), trackerCategories: ["advertising"] },
    "marketing.email": { title: { en: "Email offers" }, versions: v1("e1"), channels: ["email"] },
    "marketing.sms": { title: { en: "SMS offers" }, versions: v1("s1"), channels: ["sms"] },
    "marketing.line": { title: { en: "LINE messages" }, versions: v1("l1"), channels: ["line"] },
  },
})

/** A purpose of the reliability policy. */
export type Purpose = (typeof policy.purposeIds)[number]

/** The pseudonym secret every kit of the suite shares (a dispatcher child must derive the same pseudonyms). */
export const SECRET = "reliability-secret-0123456789abcdef0123456789abcdef"

let counter = 0
/** A tenant no other test uses. */
export const uniqueTenant = (label: string): string =>
  `rel-${label}-${process.pid.toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`

/** A record command granting (or otherwise deciding) purposes for one subject. */
export const decisions = (
  tenant: string,
  subject: string,
  action: "grant" | "deny" | "withdraw",
  purposes: ReadonlyArray<Purpose>,
  extra: { readonly idempotencyKey?: string; readonly evidence?: Record<string, unknown> } = {},
) => ({
  tenant,
  subject,
  source: "banner",
  decisions: purposes.map((purpose) => ({ purpose, action, noticeVersion: 1 })),
  ...(extra.idempotencyKey ? { idempotencyKey: extra.idempotencyKey } : {}),
  ...(extra.evidence ? { evidence: { metadata: extra.evidence } } : {}),
})

/** Command `i` of the killed recorder: three decisions of subject `r<i>` under key `cmd-<i>`. */
export const recorderCommand = (tenant: string, i: number) =>
  decisions(tenant, `r${i}`, "grant", ["analytics", "marketing", "marketing.email"], {
    idempotencyKey: `cmd-${i}`,
  })
