import { createConsentKit, MemoryStore, Policy } from "@consentkit/core"
import { expect, it } from "vitest"

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
    analytics: { title: { en: "Analytics" }, versions: v1 },
    loyalty: { title: { en: "Loyalty points" }, versions: v1, guardian: false },
  },
})

it("applies the jurisdiction's guardian rules to every purpose unless it opts out", async () => {
  const kit = createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "guardian-test-secret-0123456789abcdef",
    dispatcher: { autoStart: false },
  })
  // An 8-year-old in Thailand (PDPA: under 10, only a guardian may consent) grants both on their own.
  await kit.record({
    tenant: "t",
    subject: "child",
    source: "banner",
    jurisdiction: "TH",
    age: 8,
    decisions: [
      { purpose: "analytics", action: "grant", noticeVersion: 1 },
      { purpose: "loyalty", action: "grant", noticeVersion: 1 },
    ],
  })
  expect(await kit.decide("t", "child", "analytics")).toMatchObject({
    allowed: false,
    reason: "guardian_required",
  })
  expect(await kit.decide("t", "child", "loyalty")).toMatchObject({ allowed: true, reason: "granted" })
  // Their guardian's grant counts.
  await kit.record({
    tenant: "t",
    subject: "child",
    source: "banner",
    jurisdiction: "TH",
    age: 8,
    actor: { kind: "guardian", id: "parent-1" },
    decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 1 }],
  })
  expect(await kit.decide("t", "child", "analytics")).toMatchObject({ allowed: true, reason: "granted" })
  await kit.close()
})
