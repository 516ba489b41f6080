import { describe, expect, it } from "vitest"
import { createConsentKit, type Import, importConsents, MemoryStore, reconsentImpact } from "../src/index.js"
import { policy } from "./fixtures.js"

const rows = (tenant: string): ReadonlyArray<Import.ImportItem> => [
  {
    line: 2,
    row: {
      tenant,
      subject: "a",
      purpose: "analytics",
      action: "grant",
      noticeVersion: 1,
      occurredAt: "2025-02-01T00:00:00Z",
    },
  },
  {
    line: 3,
    row: {
      tenant,
      subject: "a",
      purpose: "marketing.email",
      action: "grant",
      noticeVersion: 1,
      occurredAt: "2025-02-01T00:00:00Z",
    },
  },
  {
    line: 4,
    row: {
      tenant,
      subject: "b",
      purpose: "analytics",
      action: "grant",
      noticeVersion: 1,
      occurredAt: "2025-02-02T00:00:00Z",
    },
  },
  {
    line: 5,
    row: {
      tenant,
      subject: "c",
      purpose: "no.such.purpose",
      action: "grant",
      noticeVersion: 1,
      occurredAt: "2025-02-03T00:00:00Z",
    },
  },
  { line: 6, problem: "not valid JSON" },
]

const kitOn = () =>
  createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "s-0123456789abcdef0123456789abcdef",
    dispatcher: { autoStart: false },
  })

describe("importConsents on the memory store", () => {
  it("records good rows with their original time, rejects bad ones by line, and records nothing twice", async () => {
    const kit = kitOn()
    try {
      const summary = await importConsents(kit, rows("t1"), { tenant: "t1" })
      expect(summary.total).toBe(5)
      expect(summary.imported).toBe(3)
      expect(summary.duplicates).toBe(0)
      expect(summary.rejected.map((r) => r.line)).toEqual([5, 6])
      const history = await kit.history("t1", "a")
      expect(history.map((e) => [e.purpose, e.action, e.source, e.occurredAt.toISOString()])).toEqual([
        ["analytics", "grant", "import", "2025-02-01T00:00:00.000Z"],
        ["marketing.email", "grant", "import", "2025-02-01T00:00:00.000Z"],
      ])
      expect((await kit.verify("t1", "a")).ok).toBe(true)

      const again = await importConsents(kit, rows("t1"), { tenant: "t1" })
      expect(again).toMatchObject({ imported: 0, duplicates: 3 })
    } finally {
      await kit.close()
    }
  })
})

describe("reconsentImpact on the memory store", () => {
  it("counts the consenting subjects a material version would take a purpose from, writing nothing", async () => {
    const kit = kitOn()
    try {
      await importConsents(kit, rows("t2"), { tenant: "t2" })
      const before = await kit.history("t2", "a")
      const impact = await reconsentImpact(kit, policy, "marketing.email", 2, {
        tenant: "t2",
        effectiveAt: new Date("2026-06-01T00:00:00Z"),
      })
      expect(impact).toMatchObject({ scanned: 1, affected: 1 })
      expect(impact.purposes).toMatchObject({ "marketing.email": 1 })
      expect(impact.channels).toMatchObject({ email: 1 })
      expect(await kit.history("t2", "a")).toEqual(before)
    } finally {
      await kit.close()
    }
  })
})
