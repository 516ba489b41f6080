import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Client, createConsentKit } from "../Client.js"
import type { ChangeFeed, ConsentStoreShape } from "../ConsentStore.js"
import { StoreError } from "../Errors.js"
import type { FeedOptions } from "../kit/types.js"
import { eventually } from "./bus.js"
import { type ConformancePurpose, conformancePolicy, uniqueTenant } from "./policy.js"

/** Two instances of one store (separate pools, connections or processes' worth of state) on one database. */
export interface FeedHarness {
  /** Opens two stores on the same (migrated) database. Called once per suite; every test uses its own tenant. */
  readonly setup: () => Promise<{
    readonly a: ConsentStoreShape
    readonly b: ConsentStoreShape
    readonly teardown?: () => Promise<void>
  }>
  /** Feed options for both kits (e.g. a shorter `staleAfterMs` for the fail-safe case). */
  readonly feed?: FeedOptions
  /** How many subjects the withdrawal case withdraws; default 50. */
  readonly subjects?: number
}

/** A feed that can be switched off: its polls and waits fail as they would in an outage. */
export const breakable = (
  store: ConsentStoreShape,
): { readonly store: ConsentStoreShape; readonly down: (down: boolean) => void } => {
  let isDown = false
  const outage = () =>
    Effect.fail(
      new StoreError({ code: "UNAVAILABLE", message: "the feed is down (test)", isRetryable: true }),
    )
  const feed = store.changes
  const changes: ChangeFeed | undefined = feed && {
    head: Effect.suspend(() => (isDown ? outage() : feed.head)),
    since: (after, limit) => Effect.suspend(() => (isDown ? outage() : feed.since(after, limit))),
    ...(feed.subscribe
      ? {
          subscribe: Effect.map(feed.subscribe, (sub) => ({
            take: (ms: number) => Effect.suspend(() => (isDown ? outage() : sub.take(ms))),
          })),
        }
      : {}),
  }
  return {
    store: { ...store, ...(changes ? { changes } : {}) },
    down: (down) => {
      isDown = down
    },
  }
}

const SECRET = "feed-conformance-secret-0123456789abcdef0123456789abcdef"

/**
 * The change-feed contract: a withdrawal or an erasure recorded through one store instance
 * reaches the decision cache of a kit on another instance; a kit whose feed is down stops
 * trusting its cache after `staleAfterMs` and reads through. Assertions poll with a generous
 * timeout: they check what the other kit answers, never how fast.
 */
export const feedConformance = (name: string, harness: FeedHarness): void => {
  describe(`feed conformance: ${name}`, () => {
    let a: ConsentStoreShape
    let b: ConsentStoreShape
    let teardown: (() => Promise<void>) | undefined
    const kits: Array<Client<ConformancePurpose>> = []
    const kitOn = (store: ConsentStoreShape, feed: FeedOptions | undefined = harness.feed) => {
      const kit = createConsentKit({
        policy: conformancePolicy,
        store,
        secret: SECRET,
        // A long TTL: only the feed can make the other kit see the change in time.
        cache: { ttlMs: 600_000 },
        ...(feed ? { feed } : {}),
        dispatcher: { autoStart: false },
      })
      kits.push(kit)
      return kit
    }
    beforeAll(async () => {
      const opened = await harness.setup()
      a = opened.a
      b = opened.b
      teardown = opened.teardown
    })
    afterAll(async () => {
      for (const kit of kits) await kit.close()
      await teardown?.()
    })

    const grant = (tenant: string, subject: string) => ({
      tenant,
      subject,
      source: "banner",
      decisions: [{ purpose: "marketing.email" as const, action: "grant" as const, noticeVersion: 1 }],
    })
    const withdraw = (tenant: string, subject: string) => ({
      tenant,
      subject,
      source: "preference-center",
      decisions: [{ purpose: "marketing.email" as const, action: "withdraw" as const, noticeVersion: 1 }],
    })
    const cachedGrants = async (kit: Client<ConformancePurpose>, tenant: string, subjects: Array<string>) => {
      for (const s of subjects) expect((await kit.decide(tenant, s, "marketing.email")).allowed).toBe(true)
      // Cached now: the answer comes without I/O.
      for (const s of subjects) expect(kit.decideCached(tenant, s, "marketing.email")?.allowed).toBe(true)
    }

    it("positions every write and erasure in one increasing sequence", async () => {
      const feed = a.changes!
      expect(feed, "the store has a change feed").toBeDefined()
      const tenant = uniqueTenant("feed")
      const kit = kitOn(a)
      const start = await Effect.runPromise(feed.head)
      await kit.record(grant(tenant, "s1"))
      await kit.record(withdraw(tenant, "s1"))
      const written = (await Effect.runPromise(feed.since(start, 10_000))).filter((e) => e.tenant === tenant)
      expect(written.map((e) => [e.subject, e.seq, e.kind])).toEqual([
        ["s1", 1, "write"],
        ["s1", 2, "write"],
      ])
      await kit.erase({ tenant, subject: "s1", requestedBy: "test" })
      // The erasure is entered under a pseudonym, and the subject's earlier entries are gone.
      const mine = (await Effect.runPromise(feed.since(start, 10_000))).filter((e) => e.tenant === tenant)
      expect(mine.map((e) => [e.seq, e.kind])).toEqual([[2, "erase"]])
      expect(mine[0]!.subject).not.toBe("s1")
      expect(mine[0]!.position).toBeGreaterThan(Math.max(...written.map((e) => e.position)))
      expect(new Set(written.map((e) => e.position)).size).toBe(2)
      expect(written[0]!.position).toBeLessThan(written[1]!.position)
      expect(await Effect.runPromise(feed.head)).toBeGreaterThanOrEqual(mine[0]!.position)
    })

    it("a withdrawal recorded on one instance is refused by the other", async () => {
      const tenant = uniqueTenant("feed")
      const subjects = Array.from({ length: harness.subjects ?? 50 }, (_, i) => `s${i}`)
      const kitA = kitOn(a)
      const kitB = kitOn(b)
      for (const s of subjects) await kitA.record(grant(tenant, s))
      await cachedGrants(kitB, tenant, subjects)
      for (const s of subjects) await kitA.record(withdraw(tenant, s))
      await eventually(async () => {
        const allowed: Array<string> = []
        for (const s of subjects)
          if ((await kitB.decide(tenant, s, "marketing.email")).allowed) allowed.push(s)
        expect(allowed).toEqual([])
      }, 30_000)
      for (const s of subjects)
        expect((await kitB.gate.send({ tenant, subject: s, channel: "email" })).allowed).toBe(false)
      expect(kitB.feedStatus()).toMatchObject({ following: true, up: true })
      // A push store delivered it by notification, its LISTEN connection up.
      if (b.changes?.subscribe) expect(kitB.feedStatus().push).toBe(true)
    })

    it("an erasure on one instance drops the subject from the other's cache", async () => {
      const tenant = uniqueTenant("feed")
      const kitA = kitOn(a)
      const kitB = kitOn(b)
      await kitA.record(grant(tenant, "gone"))
      await kitA.record(grant(tenant, "stays"))
      await cachedGrants(kitB, tenant, ["gone", "stays"])
      await kitA.erase({ tenant, subject: "gone", requestedBy: "test" })
      await eventually(async () => {
        expect((await kitB.decide(tenant, "gone", "marketing.email")).allowed).toBe(false)
      }, 30_000)
      expect((await kitB.decide(tenant, "stays", "marketing.email")).allowed).toBe(true)
    })

    it("a kit whose feed is down stops trusting its cache and reads through", async () => {
      const tenant = uniqueTenant("feed")
      const broken = breakable(b)
      const kitA = kitOn(a)
      const kitB = kitOn(broken.store, { ...harness.feed, staleAfterMs: 300 })
      await eventually(() => expect(kitB.feedStatus().up).toBe(true), 30_000)
      await kitA.record(grant(tenant, "s1"))
      await cachedGrants(kitB, tenant, ["s1"])
      broken.down(true)
      await kitA.record(withdraw(tenant, "s1"))
      // The feed cannot tell it; after the bound, B answers from the store.
      await eventually(async () => {
        expect(kitB.feedStatus().up).toBe(false)
        expect((await kitB.decide(tenant, "s1", "marketing.email")).allowed).toBe(false)
      }, 30_000)
      expect(kitB.decideCached(tenant, "s1", "marketing.email")).toBeUndefined()
      broken.down(false)
      await eventually(() => expect(kitB.feedStatus().up).toBe(true), 30_000)
      expect((await kitB.gate.send({ tenant, subject: "s1", channel: "email" })).allowed).toBe(false)
    })

    it("with the feed and the store both unreachable, a gated send is refused with an error, never allowed", async () => {
      const tenant = uniqueTenant("feed")
      const kitA = kitOn(a)
      await kitA.record(grant(tenant, "s1"))
      let unreachable = false
      const outage = () =>
        Effect.fail(new StoreError({ code: "UNAVAILABLE", message: "unreachable (test)", isRetryable: true }))
      const broken = breakable(b)
      const store: ConsentStoreShape = {
        ...broken.store,
        state: (t, s) => Effect.suspend(() => (unreachable ? outage() : broken.store.state(t, s))),
      }
      const kitB = kitOn(store, { ...harness.feed, staleAfterMs: 300 })
      await eventually(() => expect(kitB.feedStatus().up).toBe(true), 30_000)
      await cachedGrants(kitB, tenant, ["s1"])
      broken.down(true)
      unreachable = true
      await kitA.record(withdraw(tenant, "s1"))
      await eventually(async () => {
        await expect(kitB.gate.send({ tenant, subject: "s1", channel: "email" })).rejects.toMatchObject({
          _tag: "StoreError",
        })
      }, 30_000)
      await expect(kitB.gate.assertSend({ tenant, subject: "s1", channel: "email" })).rejects.toBeDefined()
    })
  })
}
