import { describe, expect, it } from "vitest"
import { type Intent, Suppressions } from "../src/index.js"

/** The nth event of a subject's history, at time 1000 + n (the time only matters across an erasure). */
const at = (seq: number, time = 1000 + seq): Suppressions.Order => ({ seq, at: time })

const intent = (
  kind: Intent.Kind,
  seq: number,
  time: number,
  purpose: string | null = "marketing",
): Intent.Intent => ({
  id: `${kind}-${seq}-${time}`,
  tenant: "t",
  subject: "s",
  kind,
  seq,
  createdAt: new Date(time),
  purpose,
  reason: kind.endsWith("stop") || kind.endsWith("suppress") ? "withdrawn" : null,
  categories: [],
  channels: [],
  changes: [],
  aliases: [],
  erasureId: null,
  pseudonym: null,
  snapshot: null,
})

describe("Suppressions", () => {
  it("refuses a suppressed purpose, its children, and everything after an erasure", () => {
    const list = Suppressions.make()
    list.suppress("t", "s", "marketing", at(1), "withdrawn")
    expect(list.refusal("t", "s", "marketing.email")).toBe("withdrawn")
    expect(list.refusal("t", "s", "analytics")).toBeUndefined()
    expect(list.refusal("t", "s")).toBe("withdrawn")
    list.erase("t", "s", 2000)
    expect(list.refusal("t", "s", "analytics")).toBe("no_consent")
    expect(list.purposes("t", "s")).toEqual(["*"])
  })

  it("replay: an old suppress replayed after a newer resume stays resumed", () => {
    const list = Suppressions.make()
    expect(list.suppress("t", "s", "marketing", at(3), "withdrawn")).toBe(true)
    expect(list.resume("t", "s", "marketing", at(5))).toBe(true)
    expect(list.suppress("t", "s", "marketing", at(3), "withdrawn")).toBe(false)
    expect(list.refusal("t", "s", "marketing")).toBeUndefined()
    expect(list.purposes("t", "s")).toEqual([])
  })

  it("orders by ledger position, not by time: a clock that ran ahead on one instance does not win", () => {
    const list = Suppressions.make()
    list.suppress("t", "s", "marketing", at(4, 9_000), "withdrawn")
    expect(list.resume("t", "s", "marketing", at(5, 2_000))).toBe(true)
    expect(list.refusal("t", "s", "marketing")).toBeUndefined()
  })

  it("reordering: whatever order the events arrive in, the newest wins", () => {
    const events = [
      (l: Suppressions.Suppressions) => l.suppress("t", "s", "marketing", at(1), "withdrawn"),
      (l: Suppressions.Suppressions) => l.resume("t", "s", "marketing", at(2)),
      (l: Suppressions.Suppressions) => l.suppress("t", "s", "marketing", at(3), "gpc_opt_out"),
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

  it("an erasure starts the subject over: a grant after it lifts it, anything from before it is ignored", () => {
    const list = Suppressions.make()
    list.erase("t", "s", 5_000)
    // seq 9 from the old history, replayed: before the erasure, so ignored.
    expect(list.resume("t", "s", "marketing", at(9, 4_000))).toBe(false)
    expect(list.refusal("t", "s", "marketing")).toBe("no_consent")
    // The same id signs up again: its history restarts at seq 1.
    expect(list.resume("t", "s", "marketing", at(1, 6_000))).toBe(true)
    expect(list.refusal("t", "s", "marketing")).toBeUndefined()
    // A replayed old suppress (high seq, old time) does not re-suppress the new history.
    expect(list.suppress("t", "s", "marketing", at(8, 4_500), "withdrawn")).toBe(false)
    expect(list.refusal("t", "s", "marketing")).toBeUndefined()
    // A replayed erasure does not erase the new history either.
    expect(list.erase("t", "s", 5_000)).toBe(false)
    expect(list.refusal("t", "s", "analytics")).toBeUndefined()
  })

  it("apply: reads each kind of intent, every change of consent.changed included", () => {
    const list = Suppressions.make()
    expect(list.apply(intent("messaging.suppress", 2, 1002))).toBe(true)
    expect(list.refusal("t", "s", "marketing")).toBe("withdrawn")
    expect(list.apply(intent("tracking.stop", 1, 1001))).toBe(false)
    const changed: Intent.Intent = {
      ...intent("consent.changed", 3, 1003, null),
      changes: [
        { purpose: "marketing", allowed: true, reason: "granted" },
        { purpose: "analytics", allowed: false, reason: "withdrawn" },
      ],
    }
    expect(list.apply(changed)).toBe(true)
    expect(list.refusal("t", "s", "marketing")).toBeUndefined()
    expect(list.refusal("t", "s", "analytics")).toBe("withdrawn")
    expect(list.apply(intent("subject.erase", 3, 1004, null))).toBe(true)
    expect(list.purposes("t", "s")).toEqual(["*"])
  })

  it("keeps at most maxEntries subjects", () => {
    const list = Suppressions.make({ maxEntries: 2 })
    for (const s of ["a", "b", "c"]) list.suppress("t", s, "marketing", at(1), "withdrawn")
    expect(list.size()).toBe(2)
    expect(list.refusal("t", "a", "marketing")).toBeUndefined()
  })
})
