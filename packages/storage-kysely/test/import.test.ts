import { createConsentKit } from "@consentkit/core"
import { importConsents, openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { tempSqlite } from "./dialects.js"
import { freshTenant, policy } from "./fixtures/policy.js"

const SUBJECTS = 50_000
const subjectId = (i: number) => `cust-${String(i).padStart(6, "0")}`

/**
 * 100,000 legacy consents as a brand's old system exports them: every customer's signup form
 * (email offers, plus analytics or a refused SMS), at its original time, version and source.
 */
function* legacyRows(tenant: string) {
  for (let i = 0; i < SUBJECTS; i++) {
    const subject = subjectId(i)
    const occurredAt = new Date(Date.UTC(2025, 1, 1) + i * 60_000).toISOString()
    const source = i % 2 === 0 ? "pos" : "web-signup"
    yield {
      tenant,
      subject,
      purpose: "marketing.email",
      action: "grant" as const,
      noticeVersion: 1,
      occurredAt,
      source,
    }
    yield i % 4 === 0
      ? { tenant, subject, purpose: "marketing.sms", action: "deny" as const, occurredAt, source }
      : {
          tenant,
          subject,
          purpose: "analytics",
          action: "grant" as const,
          noticeVersion: 2,
          occurredAt,
          source,
        }
  }
}

describe("bulk import", () => {
  it("imports 100,000 legacy consents and reads them back through decide", async () => {
    const tenant = freshTenant("import")
    const { store, close } = await openStore(tempSqlite("import"))
    const kit = createConsentKit({ policy, store, secret: "s", dispatcher: { autoStart: false } })
    try {
      let reported = 0
      const summary = await importConsents(kit, legacyRows(tenant), {
        batchSize: 2_000,
        onProgress: (p) => {
          reported = p.processed
        },
      })
      expect(summary).toEqual({ total: 100_000, imported: 100_000, duplicates: 0, rejected: [] })
      expect(reported).toBe(100_000)
    } finally {
      await kit.close()
    }

    // A fresh runtime: every decision below is read from the store, not from the importer's cache.
    const reader = createConsentKit({ policy, store, secret: "s", dispatcher: { autoStart: false } })
    try {
      let emailAllowed = 0
      let analyticsAllowed = 0
      for (let i = 0; i < SUBJECTS; i++) {
        const subject = subjectId(i)
        const email = await reader.decide(tenant, subject, "marketing.email")
        const analytics = await reader.decide(tenant, subject, "analytics")
        const sms = await reader.decide(tenant, subject, "marketing.sms")
        expect(email).toMatchObject({ allowed: true, reason: "granted", noticeVersion: 1 })
        if (i % 4 === 0) {
          expect(analytics.reason).toBe("no_consent")
          expect(sms.reason).toBe("denied")
        } else {
          expect(analytics).toMatchObject({ allowed: true, reason: "granted", noticeVersion: 2 })
          expect(sms.reason).toBe("no_consent")
        }
        if (email.allowed) emailAllowed++
        if (analytics.allowed) analyticsAllowed++
      }
      expect(emailAllowed).toBe(SUBJECTS)
      expect(analyticsAllowed).toBe(SUBJECTS - SUBJECTS / 4)

      // Original time, version and source are kept, and the chain and receipt are the runtime's own.
      const history = await reader.history(tenant, subjectId(7))
      expect(
        history.map((e) => [e.seq, e.purpose, e.noticeVersion, e.source, e.occurredAt.toISOString()]),
      ).toEqual([
        [1, "marketing.email", 1, "web-signup", new Date(Date.UTC(2025, 1, 1) + 7 * 60_000).toISOString()],
        [2, "analytics", 2, "web-signup", new Date(Date.UTC(2025, 1, 1) + 7 * 60_000).toISOString()],
      ])
      expect((await reader.verify(tenant, subjectId(7))).ok).toBe(true)
      const receipts = await Effect.runPromise(store.receipts(tenant, subjectId(7)))
      expect(receipts).toHaveLength(1)
      expect(receipts[0]!.receipt?.ckDecisions.map((d) => d.purpose)).toEqual([
        "marketing.email",
        "analytics",
      ])
      const rates = await reader.rates(tenant, new Date("2025-01-01"), new Date("2026-01-01"))
      expect(rates.reduce((n, r) => n + r.count, 0)).toBe(100_000)

      // Running the same import again records nothing new.
      const again = await importConsents(reader, [...legacyRows(tenant)].slice(0, 1_000))
      expect(again).toMatchObject({ total: 1_000, imported: 0, duplicates: 1_000, rejected: [] })
    } finally {
      await reader.close()
      await close()
    }
  }, 300_000)
})
