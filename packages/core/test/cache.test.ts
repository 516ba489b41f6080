import { State } from "@consentkit/core"
import { describe, expect, it } from "vitest"
import { DecisionCache } from "../src/internal/cache.js"
import { policy } from "./fixtures.js"

const stateWith = (seq: number, status: State.Status, expiresAt: Date | null = null): State.SubjectState => ({
  ...State.empty("t", "s"),
  seq,
  purposes: new Map([
    [
      "marketing.email",
      {
        purpose: "marketing.email",
        status,
        noticeVersion: 1,
        occurredAt: new Date("2026-01-01T00:00:00Z"),
        expiresAt,
        eventId: `e${seq}`,
        seq,
        source: "banner",
        actor: "subject",
        guardianGranted: false,
      },
    ],
  ]),
})

describe("the decision cache", () => {
  const now = Date.parse("2026-06-01T00:00:00Z")

  it("never lets a stale read replace a newer write", () => {
    const cache = new DecisionCache(policy, 60_000, 100)
    cache.set("t", "s", stateWith(2, "withdrawn"), now, "write")
    cache.set("t", "s", stateWith(1, "granted"), now + 1, "read")
    expect(cache.decide("t", "s", "marketing.email", now + 2)?.reason).toBe("withdrawn")
  })

  it("drops an entry read before a change it is told of, keeps its own newer write", () => {
    const cache = new DecisionCache(policy, 60_000, 100)
    cache.set("t", "s", stateWith(2, "granted"), now, "read")
    cache.observe("t", "s", 2, "write")
    expect(cache.peek("t", "s", now + 1)).not.toBeUndefined()
    cache.observe("t", "s", 3, "write")
    expect(cache.peek("t", "s", now + 1)).toBeUndefined()
    cache.set("t", "s", null, now, "erase")
    cache.observe("t", "s", 9, "write")
    cache.observe("t", "s", 9, "erase")
    expect(cache.peek("t", "s", now + 1)).toBe("empty")
    cache.set("u", "s", stateWith(4, "granted"), now, "write")
    cache.observe("u", "s", 4, "erase")
    expect(cache.peek("u", "s", now + 1)).toBeUndefined()
  })

  it("never lets a read bring an erased subject back", () => {
    const cache = new DecisionCache(policy, 60_000, 100)
    cache.set("t", "s", stateWith(5, "granted"), now)
    cache.set("t", "s", null, now + 1, "erase")
    cache.set("t", "s", stateWith(5, "granted"), now + 2, "read")
    expect(cache.decide("t", "s", "marketing.email", now + 3)?.reason).toBe("no_consent")
  })

  it("decides a grant expired at the instant it expires", () => {
    const cache = new DecisionCache(policy, 3_600_000, 100)
    cache.set("t", "s", stateWith(1, "granted", new Date(now + 1_000)), now)
    expect(cache.decide("t", "s", "marketing.email", now + 999)?.reason).toBe("granted")
    expect(cache.decide("t", "s", "marketing.email", now + 1_000)?.reason).toBe("expired")
  })

  it("misses after the TTL and evicts beyond its size", () => {
    const cache = new DecisionCache(policy, 1_000, 2)
    cache.set("t", "a", stateWith(1, "granted"), now)
    expect(cache.decide("t", "a", "marketing.email", now + 1_000)).toBeUndefined()
    cache.set("t", "b", stateWith(1, "granted"), now)
    cache.set("t", "c", stateWith(1, "granted"), now)
    cache.set("t", "d", stateWith(1, "granted"), now)
    expect(["a", "b", "c", "d"].filter((s) => cache.peek("t", s, now) !== undefined)).toHaveLength(2)
  })

  it("trusts nothing past the feed's bound: lookups miss until the feed is heard from again", () => {
    const cache = new DecisionCache(policy, 60_000, 100)
    cache.set("t", "s", stateWith(1, "granted"), now, "read")
    cache.trustUntil(now + 1_000)
    expect(cache.decide("t", "s", "marketing.email", now + 999)?.allowed).toBe(true)
    expect(cache.decide("t", "s", "marketing.email", now + 1_000)).toBeUndefined()
    expect(cache.peek("t", "s", now + 1_000)).toBeUndefined()
    cache.trustUntil(now + 5_000)
    expect(cache.decide("t", "s", "marketing.email", now + 1_001)?.allowed).toBe(true)
  })

  it("a read that started before an observed change is not cached over it (even with no entry to drop)", () => {
    const cache = new DecisionCache(policy, 60_000, 100)
    cache.observe("t", "s", 2, "write")
    cache.set("t", "s", stateWith(1, "granted"), now, "read")
    expect(cache.peek("t", "s", now + 1)).toBeUndefined()
    cache.set("t", "s", stateWith(2, "withdrawn"), now, "read")
    expect(cache.decide("t", "s", "marketing.email", now + 1)?.reason).toBe("withdrawn")
  })

  it("an erasure seen on the feed drops the tenant's subjects but the kit's own erasures, and other tenants stay", () => {
    const cache = new DecisionCache(policy, 60_000, 100)
    cache.set("t", "a", stateWith(1, "granted"), now, "read")
    cache.set("t", "b", null, now, "erase")
    cache.set("u", "a", stateWith(1, "granted"), now, "read")
    cache.observeTenantErasure("t", now)
    expect(cache.peek("t", "a", now + 1)).toBeUndefined()
    expect(cache.peek("t", "b", now + 1)).toBe("empty")
    expect(cache.peek("u", "a", now + 1)).not.toBeUndefined()
    // A read of the tenant in flight across the erasure is not cached for a while.
    cache.set("t", "a", stateWith(1, "granted"), now + 2, "read")
    expect(cache.peek("t", "a", now + 3)).toBeUndefined()
    cache.set("t", "a", stateWith(1, "granted"), now + 20_000, "read")
    expect(cache.peek("t", "a", now + 20_001)).not.toBeUndefined()
  })
})
