import { createConsentKit, importConsents } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { tempSqlite } from "./dialects.js"
import { freshTenant, policy } from "./fixtures/policy.js"

// Small enough for the unit suite; the 100,000-row import is a benchmark (bench/src/import.ts).
const CUSTOMERS = 1_000
const ROWS = CUSTOMERS * 5
const customer = (i: number) => `cust-${String(i).padStart(6, "0")}`
const signup = (i: number) => new Date(Date.UTC(2025, 1, 1) + i * 60_000).toISOString()
const later = (i: number) => new Date(Date.UTC(2025, 5, 1) + i * 60_000).toISOString()

/**
 * Legacy consents (five per customer) as a brand's old CRM exports them: one row per customer and purpose,
 * each at its original time, notice version and collection point. Most customers decided all
 * five at signup; one in ten withdrew email offers months later.
 */
function* legacyRows(tenant: string) {
  for (let i = 0; i < CUSTOMERS; i++) {
    const subject = customer(i)
    const occurredAt = signup(i)
    const source = i % 2 === 0 ? "pos" : "web-signup"
    const row = (
      purpose: string,
      action: "grant" | "deny" | "withdraw",
      noticeVersion?: number,
      at = occurredAt,
    ) => ({
      tenant,
      subject,
      purpose,
      action,
      occurredAt: at,
      source,
      ...(noticeVersion === undefined ? {} : { noticeVersion }),
    })
    yield row("marketing", "grant", 1)
    yield row("analytics", "grant", 2)
    yield i % 4 === 0 ? row("marketing.sms", "deny") : row("marketing.sms", "grant", 1)
    yield i % 5 === 0 ? row("marketing.line", "deny") : row("marketing.line", "grant", 1)
    yield i % 10 === 3
      ? row("marketing.email", "withdraw", undefined, later(i))
      : row("marketing.email", "grant", 1)
  }
}

describe("bulk import", () => {
  it("imports legacy consents (5,000 rows) and reads them back through decide", async () => {
    const tenant = freshTenant("import")
    const { store, close } = await openStore(tempSqlite("import"))
    const kit = createConsentKit({
      policy,
      store,
      secret: "s-0123456789abcdef0123456789abcdef",
      dispatcher: { autoStart: false },
    })
    try {
      let reported = 0
      const summary = await importConsents(kit, legacyRows(tenant), {
        batchSize: 2_000,
        onProgress: (p) => {
          reported = p.processed
        },
      })
      expect(summary).toEqual({ total: ROWS, imported: ROWS, duplicates: 0, rejected: [] })
      expect(reported).toBe(ROWS)
    } finally {
      await kit.close()
    }

    // A fresh runtime: every decision below is read from the store, not from the importer's cache.
    const reader = createConsentKit({
      policy,
      store,
      secret: "s-0123456789abcdef0123456789abcdef",
      dispatcher: { autoStart: false },
    })
    try {
      const allowed = new Map<string, number>()
      for (let i = 0; i < CUSTOMERS; i++) {
        // One read of the customer's state, decided for every purpose of the policy.
        const decisions = await reader.decisions(tenant, customer(i))
        const by = new Map(decisions.map((d) => [d.purpose, d]))
        for (const d of decisions) if (d.allowed) allowed.set(d.purpose, (allowed.get(d.purpose) ?? 0) + 1)
        expect(by.get("analytics")).toMatchObject({ allowed: true, reason: "granted", noticeVersion: 2 })
        expect(by.get("marketing.sms")?.reason).toBe(i % 4 === 0 ? "denied" : "granted")
        expect(by.get("marketing.line")?.reason).toBe(i % 5 === 0 ? "denied" : "granted")
        expect(by.get("marketing.email")?.reason).toBe(i % 10 === 3 ? "withdrawn" : "granted")
      }
      expect(Object.fromEntries(allowed)).toEqual({
        marketing: CUSTOMERS,
        analytics: CUSTOMERS,
        "marketing.sms": CUSTOMERS - CUSTOMERS / 4,
        "marketing.line": CUSTOMERS - CUSTOMERS / 5,
        "marketing.email": CUSTOMERS - CUSTOMERS / 10,
      })

      // Original times, versions and sources are kept; the chain and receipts are the runtime's own.
      const history = await reader.history(tenant, customer(3))
      expect(history.map((e) => [e.seq, e.purpose, e.action, e.source, e.occurredAt.toISOString()])).toEqual([
        [1, "marketing", "grant", "web-signup", signup(3)],
        [2, "analytics", "grant", "web-signup", signup(3)],
        [3, "marketing.sms", "grant", "web-signup", signup(3)],
        [4, "marketing.line", "grant", "web-signup", signup(3)],
        [5, "marketing.email", "withdraw", "web-signup", later(3)],
      ])
      expect((await reader.verify(tenant, customer(3))).ok).toBe(true)
      // The signup was one decision in the old system: one receipt for its four rows, one for the withdrawal.
      const receipts = await Effect.runPromise(store.receipts(tenant, customer(3)))
      expect(receipts.map((r) => r.receipt?.ckDecisions.map((d) => d.purpose))).toEqual([
        ["marketing", "analytics", "marketing.sms", "marketing.line"],
        ["marketing.email"],
      ])
      const rates = await reader.rates(tenant, new Date("2025-01-01"), new Date("2026-01-01"))
      expect(rates.reduce((n, r) => n + r.count, 0)).toBe(ROWS)

      // Running the same import again records nothing new.
      const again = await importConsents(reader, [...legacyRows(tenant)].slice(0, 1_000))
      expect(again).toMatchObject({ total: 1_000, imported: 0, duplicates: 1_000, rejected: [] })
    } finally {
      await reader.close()
      await close()
    }
  }, 300_000)
})
