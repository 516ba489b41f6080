import { Command } from "@consentkit/core"
import { describe, expect, it } from "vitest"
import { MIN_DECISIONS, monthlyRates, monthOf } from "../src/charts.js"
import { noticeDates, shopPolicy } from "../src/policy.js"
import { DEMO_CUSTOMERS, seedData } from "../src/seed.js"

describe("monthlyRates", () => {
  const row = (day: string, noticeVersion: number, action: "grant" | "deny" | "withdraw", count: number) => ({
    purpose: "marketing.email",
    noticeVersion,
    day,
    action,
    count,
  })

  it("gives each notice version its own line of monthly grant shares, leaving thin months out", () => {
    const rows = [
      row("2026-01-03", 1, "grant", 30),
      row("2026-01-20", 1, "deny", 10),
      row("2026-02-02", 1, "grant", 3),
      row("2026-02-05", 2, "grant", 9),
      row("2026-02-06", 2, "withdraw", 3),
    ]
    const [v1, v2] = monthlyRates(rows, "marketing.email", Date.UTC(2026, 0, 15), Date.UTC(2026, 1, 10))
    expect(v1?.label).toBe("v1")
    expect(v1?.points.map((p) => [new Date(p.month).toISOString().slice(0, 7), p.rate, p.decisions])).toEqual(
      [
        ["2026-01", 0.75, 40],
        ["2026-02", null, 3],
      ],
    )
    expect(v2?.points.map((p) => p.rate)).toEqual([null, 0.75])
    expect(MIN_DECISIONS).toBeLessThanOrEqual(12)
    expect(monthOf(Date.UTC(2026, 1, 28, 23))).toBe(Date.UTC(2026, 1, 1))
  })
})

describe("seedData", () => {
  const anchor = new Date("2026-12-01T00:00:00Z")

  it("is the same every time, and every row is a valid command under the policy at its time", () => {
    const a = seedData(200, anchor)
    const b = seedData(200, anchor)
    expect(b).toEqual(a)
    const policy = shopPolicy(anchor)
    for (const r of a.rows) {
      const { purpose, action, noticeVersion, ...rest } = r
      const checked = Command.validateRecord(
        policy,
        { ...rest, decisions: [{ purpose, action, noticeVersion }] },
        anchor.getTime(),
      )
      expect(checked.ok, JSON.stringify(r)).toBe(true)
    }
  })

  it("keeps each customer's rows in time order and gives the demo accounts every purpose under the notices in force", () => {
    const { customers, rows } = seedData(50, anchor)
    expect(customers.slice(0, 3).map((c) => c.email)).toEqual(DEMO_CUSTOMERS.map((c) => c.email))
    const bySubject = new Map<string, Array<string>>()
    for (const r of rows)
      bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), String(r.occurredAt)])
    for (const times of bySubject.values()) expect(times).toEqual([...times].sort())
    const somchai = rows.filter((r) => r.subject === DEMO_CUSTOMERS[0].id)
    expect(somchai.every((r) => r.action === "grant")).toBe(true)
    expect(somchai.find((r) => r.purpose === "marketing.email")?.noticeVersion).toBe(2)
    expect(Date.parse(String(somchai[0]?.occurredAt))).toBeGreaterThan(noticeDates(anchor).emailV2.getTime())
  })
})
