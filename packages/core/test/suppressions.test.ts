import { describe, expect, it } from "vitest"
import { Suppressions } from "../src/index.js"

describe("Suppressions", () => {
  it("refuses a suppressed purpose, its children, and everything after an erasure", () => {
    const list = Suppressions.make()
    list.suppress("t", "s", "marketing", 1, "withdrawn")
    expect(list.refusal("t", "s", "marketing.email")).toBe("withdrawn")
    expect(list.refusal("t", "s", "analytics")).toBeUndefined()
    expect(list.refusal("t", "s")).toBe("withdrawn")
    list.suppress("t", "s", Suppressions.ALL, 2, "no_consent")
    expect(list.refusal("t", "s", "analytics")).toBe("no_consent")
    expect(list.purposes("t", "s")).toEqual(["marketing", "*"])
  })

  it("replay: an old suppress replayed after a newer resume stays resumed", () => {
    const list = Suppressions.make()
    expect(list.suppress("t", "s", "marketing", 3, "withdrawn")).toBe(true)
    expect(list.resume("t", "s", "marketing", 5)).toBe(true)
    expect(list.suppress("t", "s", "marketing", 3, "withdrawn")).toBe(false)
    expect(list.refusal("t", "s", "marketing")).toBeUndefined()
    expect(list.purposes("t", "s")).toEqual([])
  })

  it("reordering: whatever order the events arrive in, the newest wins", () => {
    const events = [
      (l: Suppressions.Suppressions) => l.suppress("t", "s", "marketing", 1, "withdrawn"),
      (l: Suppressions.Suppressions) => l.resume("t", "s", "marketing", 2),
      (l: Suppressions.Suppressions) => l.suppress("t", "s", "marketing", 3, "gpc_opt_out"),
    ]
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ]
    for (const order of orders) {
      const list = Suppressions.make()
      for (const i of order) events[i]!(list)
      expect(list.refusal("t", "s", "marketing")).toBe("gpc_opt_out")
    }
    for (const order of [
      [0, 1],
      [1, 0],
    ]) {
      const list = Suppressions.make()
      for (const i of order) events[i]!(list)
      expect(list.refusal("t", "s", "marketing")).toBeUndefined()
    }
  })

  it("a grant after an erasure lifts it, one before it does not", () => {
    const list = Suppressions.make()
    list.suppress("t", "s", Suppressions.ALL, 10, "no_consent")
    list.resume("t", "s", "marketing", 9)
    expect(list.refusal("t", "s", "marketing")).toBe("no_consent")
    list.resume("t", "s", "marketing", 11)
    expect(list.refusal("t", "s", "marketing")).toBeUndefined()
  })

  it("keeps at most maxEntries subjects", () => {
    const list = Suppressions.make({ maxEntries: 2 })
    for (const s of ["a", "b", "c"]) list.suppress("t", s, "marketing", 1, "withdrawn")
    expect(list.size()).toBe(2)
    expect(list.refusal("t", "a", "marketing")).toBeUndefined()
  })
})
