import { createConsentKit, Decision, Policy, reconsentImpact } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { dialects } from "./dialects.js"
import { freshTenant, policy } from "./fixtures/policy.js"
import { rowCount } from "./rows.js"

const embedded = dialects().filter((d) => d.name === "sqlite" || d.name === "pglite")

describe.each(embedded)("re-consent impact ($name)", (dialect) => {
  it("counts who would lose each purpose, channel and category, page by page, writing nothing", async () => {
    const { store, close } = await openStore(dialect.url())
    const kit = createConsentKit({
      policy,
      store,
      secret: "s-0123456789abcdef0123456789abcdef",
      dispatcher: { autoStart: false },
    })
    const tenant = freshTenant("reconsent")
    try {
      const at = "2025-03-01T00:00:00Z"
      for (let i = 0; i < 30; i++) {
        const subject = `r-${String(i).padStart(2, "0")}`
        const decisions: Array<{
          purpose: "analytics" | "marketing" | "marketing.email"
          action: "grant" | "withdraw"
          noticeVersion?: number
        }> = [{ purpose: "analytics", action: "grant", noticeVersion: i % 2 === 0 ? 1 : 2 }]
        if (i % 3 === 0) decisions.push({ purpose: "marketing.email", action: "grant", noticeVersion: 1 })
        if (i % 5 === 0) decisions.push({ purpose: "marketing", action: "withdraw" })
        await kit.record({ tenant, subject, source: "banner", occurredAt: at, decisions })
      }
      await kit.record({
        tenant,
        subject: "r-late",
        source: "banner",
        occurredAt: at,
        decisions: [{ purpose: "analytics", action: "withdraw" }],
      })
      const before = await rowCount(store.db, tenant)

      const impact = await reconsentImpact(kit, policy, "analytics", 3, {
        tenant,
        effectiveAt: new Date("2026-06-01T00:00:00Z"),
        pageSize: 7,
      })
      expect(impact).toMatchObject({
        tenant,
        purpose: "analytics",
        version: 3,
        scanned: 30,
        affected: 30,
        pages: 5,
      })
      expect(impact.purposes).toEqual({ analytics: 30 })
      expect(impact.categories).toEqual({ analytics: 30 })
      expect(impact.channels).toEqual({})

      // The same answer as deciding every subject under both policies by hand.
      const next = Policy.withVersion(policy, "analytics", {
        version: 3,
        effectiveAt: "2026-06-01T00:00:00Z",
        textHash: "x",
        material: true,
      })
      const t = Date.parse("2026-06-01T00:00:00Z")
      let losing = 0
      for (let i = 0; i < 30; i++) {
        const state = await Effect.runPromise(store.state(tenant, `r-${String(i).padStart(2, "0")}`))
        if (
          Decision.decide(policy, state!, "analytics", t).allowed &&
          !Decision.decide(next, state!, "analytics", t).allowed
        )
          losing++
      }
      expect(losing).toBe(30)

      // A material email notice: only those who may be emailed now are counted (not those who withdrew marketing).
      const email = await reconsentImpact(store, policy, "marketing.email", 2, {
        tenant,
        effectiveAt: new Date("2026-06-01T00:00:00Z"),
      })
      const emailable = Array.from({ length: 30 }, (_, i) => i).filter(
        (i) => i % 3 === 0 && i % 5 !== 0,
      ).length
      expect(email).toMatchObject({
        scanned: 10,
        affected: emailable,
        purposes: { "marketing.email": emailable },
        channels: { email: emailable },
      })

      expect(await rowCount(store.db, tenant)).toBe(before)
      await expect(reconsentImpact(store, policy, "analytics", 2, { tenant })).rejects.toThrow(
        /already has notice version 2/,
      )
    } finally {
      await kit.close()
      await close()
    }
  }, 120_000)
})
