import { type ConsentStore, createConsentKit, MemoryStore } from "@consentkit/core"
import { conformancePolicy, eventually, feedConformance, uniqueTenant } from "@consentkit/core/testing"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"

// Two kits on one in-memory store: what two kits in one process see.
feedConformance("memory", {
  setup: async () => {
    const store = MemoryStore.make()
    return { a: store, b: store }
  },
})

describe("following a feed whose positions commit out of order", () => {
  it("applies an entry that fills a hole below the newest position seen", async () => {
    const store = MemoryStore.make()
    // The feed B follows: positions handed out in one order, committed in another (PostgreSQL, MySQL).
    const entries: Array<ConsentStore.FeedEntry> = []
    const feed: ConsentStore.ChangeFeed = {
      head: Effect.sync(() => Math.max(0, ...entries.map((e) => e.position))),
      since: (after, limit) =>
        Effect.sync(() =>
          entries
            .filter((e) => e.position > after)
            .sort((x, y) => x.position - y.position)
            .slice(0, limit),
        ),
    }
    const options = {
      policy: conformancePolicy,
      secret: "feed-test-secret-0123456789abcdef0123456789abcdef",
      cache: { ttlMs: 600_000 },
      dispatcher: { autoStart: false },
    } as const
    const kitA = createConsentKit({ ...options, store, feed: false })
    const kitB = createConsentKit({ ...options, store: { ...store, changes: feed }, feed: { pollMs: 10 } })
    const tenant = uniqueTenant("holes")
    const record = (subject: string, action: "grant" | "withdraw") =>
      kitA.record({
        tenant,
        subject,
        source: "banner",
        decisions: [{ purpose: "marketing.email", action, noticeVersion: 1 }],
      })
    await record("x", "grant")
    await record("y", "grant")
    await eventually(() => expect(kitB.feedStatus().up).toBe(true))
    for (const s of ["x", "y"]) expect((await kitB.decide(tenant, s, "marketing.email")).allowed).toBe(true)
    await record("x", "withdraw")
    await record("y", "withdraw")
    // y's entry (position 2) commits first; x's (position 1) is still in flight.
    entries.push({ position: 2, tenant, subject: "y", seq: 2, kind: "write" })
    await eventually(async () =>
      expect((await kitB.decide(tenant, "y", "marketing.email")).allowed).toBe(false),
    )
    expect(kitB.decideCached(tenant, "x", "marketing.email")?.allowed).toBe(true)
    expect(kitB.feedStatus()).toMatchObject({ position: 0, head: 2 })
    entries.push({ position: 1, tenant, subject: "x", seq: 2, kind: "write" })
    await eventually(async () =>
      expect((await kitB.decide(tenant, "x", "marketing.email")).allowed).toBe(false),
    )
    await eventually(() => expect(kitB.feedStatus()).toMatchObject({ position: 2, head: 2 }))
    await kitA.close()
    await kitB.close()
  })
})
