import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Adapter } from "../Adapter.js"
import { type Client, createConsentKit } from "../Client.js"
import type { ConsentStoreShape } from "../ConsentStore.js"
import { AdapterError } from "../Errors.js"
import * as EventBus from "../EventBus.js"
import type { Intent } from "../Intent.js"
import * as Ledger from "../Ledger.js"
import * as State from "../State.js"
import * as Tracker from "../Tracker.js"
import { type ConformancePurpose, conformancePolicy, uniqueTenant } from "./policy.js"

/** What a store under test supplies. */
export interface StoreHarness {
  /** Opens the store (migrated). Called once per suite; every test uses its own tenant. */
  readonly setup: () => Promise<{
    readonly store: ConsentStoreShape
    /** Counts every stored row of a tenant, read from the database directly. */
    readonly rowsOf?: (tenant: string) => Promise<number>
    readonly teardown?: () => Promise<void>
  }>
}

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

/** A tracker that records what reached it, and can be told to fail. */
const recordingTracker = (name: string) => {
  const seen: Array<Intent> = []
  let failures = 0
  const apply = (intent: Intent) => {
    if (failures > 0) {
      failures--
      throw new AdapterError({ adapter: name, message: "provider unavailable", isRetryable: true })
    }
    seen.push(intent)
  }
  const adapter: Adapter = Tracker.make({
    name,
    stop: async (intent) => apply(intent),
    resume: async (intent) => apply(intent),
    erase: async (intent) => apply(intent),
  })
  return {
    adapter,
    seen,
    failNext: (n: number) => {
      failures = n
    },
  }
}

const grant = (
  tenant: string,
  subject: string,
  purpose: ConformancePurpose,
  extra: Record<string, unknown> = {},
) => ({
  tenant,
  subject,
  source: "banner",
  decisions: [{ purpose, action: "grant" as const, noticeVersion: 1 }],
  ...extra,
})

const withdraw = (
  tenant: string,
  subject: string,
  purpose: ConformancePurpose,
  extra: Record<string, unknown> = {},
) => ({
  tenant,
  subject,
  source: "preference-center",
  decisions: [{ purpose, action: "withdraw" as const }],
  ...extra,
})

/**
 * The store contract. Every store (memory, SQLite, PostgreSQL, PGlite, MySQL) runs it; each test
 * creates its own tenant and subjects, and checks what the store really kept.
 */
export const storeConformance = (name: string, harness: StoreHarness): void => {
  describe(`store conformance: ${name}`, () => {
    let store: ConsentStoreShape
    let rowsOf: ((tenant: string) => Promise<number>) | undefined
    let teardown: (() => Promise<void>) | undefined
    const kits: Array<Client<ConformancePurpose>> = []

    beforeAll(async () => {
      const opened = await harness.setup()
      store = opened.store
      rowsOf = opened.rowsOf
      teardown = opened.teardown
    })
    afterAll(async () => {
      for (const kit of kits) await kit.close()
      await teardown?.()
    })

    const kitWith = (adapters: ReadonlyArray<Adapter> = [], options: { maxAttempts?: number } = {}) => {
      const kit = createConsentKit({
        policy: conformancePolicy,
        store,
        secret: "conformance-secret",
        adapters,
        cache: { ttlMs: 0 },
        dispatcher: {
          autoStart: false,
          maxAttempts: options.maxAttempts ?? 3,
          baseDelayMs: 0,
          maxDelayMs: 0,
        },
      })
      kits.push(kit)
      return kit
    }

    it("appends events, keeps state equal to the fold of the ledger, and chains them", async () => {
      const kit = kitWith()
      const tenant = uniqueTenant()
      await kit.record(grant(tenant, "s1", "analytics"))
      await kit.record(grant(tenant, "s1", "marketing.email"))
      await kit.record(withdraw(tenant, "s1", "analytics"))
      const events = await run(store.history(tenant, "s1"))
      expect(events.map((e) => [e.seq, e.purpose, e.action])).toEqual([
        [1, "analytics", "grant"],
        [2, "marketing.email", "grant"],
        [3, "analytics", "withdraw"],
      ])
      const state = await run(store.state(tenant, "s1"))
      expect(state).not.toBeNull()
      expect(State.equivalent(state!, State.fold(tenant, "s1", events))).toBe(true)
      expect(await Ledger.verify(events, state!.head)).toMatchObject({ ok: true, count: 3 })
      expect((await kit.decide(tenant, "s1", "analytics")).reason).toBe("withdrawn")
      expect((await kit.decide(tenant, "s1", "marketing.email")).reason).toBe("granted")
    })

    it("returns every field of an event exactly as recorded", async () => {
      const kit = kitWith()
      const tenant = uniqueTenant()
      const result = await kit.record({
        ...grant(tenant, "s-fields", "analytics"),
        occurredAt: "2026-03-04T05:06:07.089Z",
        actor: { kind: "guardian", id: "parent-1" },
        evidence: {
          locale: "th-TH",
          userAgent: "Mozilla/5.0",
          ipHash: "abc",
          noticeHash: "a1",
          metadata: { form: "signup", n: 3 },
        },
        jurisdiction: "TH",
        age: 15,
      })
      const [stored] = await run(store.history(tenant, "s-fields"))
      expect(stored).toEqual(result.events[0])
      expect(stored!.expiresAt?.toISOString()).toBe("2027-04-04T05:06:07.089Z")
    })

    it("records a command with an idempotency key once", async () => {
      const kit = kitWith()
      const tenant = uniqueTenant()
      const first = await kit.record(grant(tenant, "s1", "analytics", { idempotencyKey: "k-1" }))
      const again = await kit.record(grant(tenant, "s1", "analytics", { idempotencyKey: "k-1" }))
      expect(again.duplicate).toBe(true)
      expect(again.commandId).toBe(first.commandId)
      expect(again.eventIds).toEqual(first.eventIds)
      expect(await run(store.history(tenant, "s1"))).toHaveLength(1)
    })

    it("writes nothing for a rejected command", async () => {
      const kit = kitWith([recordingTracker("t").adapter])
      const tenant = uniqueTenant()
      await kit.record(grant(tenant, "s1", "analytics"))
      const before = rowsOf ? await rowsOf(tenant) : undefined
      const bad: Array<unknown> = [
        {
          ...grant(tenant, "s1", "analytics"),
          decisions: [{ purpose: "analytcs", action: "grant", noticeVersion: 1 }],
        },
        { ...grant(tenant, "s1", "analytics"), decisions: [{ purpose: "analytics", action: "grant" }] },
        { ...grant(tenant, "s1", "analytics"), occurredAt: "2999-01-01T00:00:00Z" },
        { ...withdraw(tenant, "s1", "analytics"), decisions: [] },
      ]
      for (const command of bad) {
        await expect(kit.record(command as never)).rejects.toMatchObject({ _tag: "InvalidCommand" })
      }
      expect(await run(store.history(tenant, "s1"))).toHaveLength(1)
      if (rowsOf) expect(await rowsOf(tenant)).toBe(before)
      expect((await kit.outbox.stats(tenant)).pending).toBe(1)
    })

    it("serialises concurrent writers of one subject into one continuous chain", async () => {
      const kit = kitWith()
      const tenant = uniqueTenant()
      const purposes: Array<ConformancePurpose> = [
        "analytics",
        "marketing.email",
        "marketing.sms",
        "marketing.line",
      ]
      await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          kit.record(
            i % 2 === 0
              ? grant(tenant, "busy", purposes[i % 4]!)
              : withdraw(tenant, "busy", purposes[i % 4]!),
          ),
        ),
      )
      const events = await run(store.history(tenant, "busy"))
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1))
      const state = await run(store.state(tenant, "busy"))
      expect(State.equivalent(state!, State.fold(tenant, "busy", events))).toBe(true)
      expect((await Ledger.verify(events, state!.head)).ok).toBe(true)
    })

    it("answers history per purpose and the state at a past instant", async () => {
      const kit = kitWith()
      const tenant = uniqueTenant()
      await kit.record(grant(tenant, "s1", "analytics", { occurredAt: "2026-01-10T00:00:00Z" }))
      await kit.record(withdraw(tenant, "s1", "analytics", { occurredAt: "2026-02-10T00:00:00Z" }))
      await kit.record(grant(tenant, "s1", "marketing.email", { occurredAt: "2026-01-20T00:00:00Z" }))
      expect((await run(store.history(tenant, "s1", { purpose: "analytics" }))).map((e) => e.action)).toEqual(
        ["grant", "withdraw"],
      )
      const past = await run(store.stateAt(tenant, "s1", new Date("2026-02-01T00:00:00Z")))
      expect(past?.purposes.get("analytics")?.status).toBe("granted")
      expect(past?.purposes.get("marketing.email")?.status).toBe("granted")
      const earlier = await run(store.stateAt(tenant, "s1", new Date("2026-01-15T00:00:00Z")))
      expect(earlier?.purposes.has("marketing.email")).toBe(false)
      expect(await run(store.stateAt(tenant, "s1", new Date("2025-12-01T00:00:00Z")))).toBeNull()
      const now = await run(store.stateAt(tenant, "s1", new Date()))
      expect(now?.purposes.get("analytics")?.status).toBe("withdrawn")
    })

    it("keeps tenants apart", async () => {
      const kit = kitWith()
      const a = uniqueTenant("a")
      const b = uniqueTenant("b")
      await kit.record(grant(a, "same-id", "analytics"))
      await kit.record(withdraw(b, "same-id", "analytics"))
      expect((await kit.decide(a, "same-id", "analytics")).allowed).toBe(true)
      expect((await kit.decide(b, "same-id", "analytics")).allowed).toBe(false)
      expect(await run(store.history(a, "same-id"))).toHaveLength(1)
      expect((await run(store.history(b, "same-id")))[0]!.action).toBe("withdraw")
      expect(
        (await run(store.audiencePage({ tenant: b, purposes: ["analytics"], after: null, limit: 10 })))
          .states,
      ).toEqual([])
    })

    it("links an alias, resolves it, and never turns a refusal into a grant", async () => {
      const kit = kitWith()
      const tenant = uniqueTenant()
      await kit.record(grant(tenant, "anon-1", "analytics"))
      await kit.record(grant(tenant, "anon-1", "marketing.email"))
      await kit.record(withdraw(tenant, "cust-1", "marketing.email", { occurredAt: "2025-06-01T00:00:00Z" }))
      await kit.link({ tenant, subject: "cust-1", alias: { kind: "anonymous", value: "anon-1" } })
      expect(await run(store.resolveAlias(tenant, { kind: "anonymous", value: "anon-1" }))).toBe("cust-1")
      expect(await run(store.resolveAlias(tenant, { kind: "anonymous", value: "nobody" }))).toBeNull()
      expect((await kit.decide(tenant, "cust-1", "analytics")).allowed).toBe(true)
      expect((await kit.decide(tenant, "cust-1", "marketing.email")).allowed).toBe(false)
      expect((await kit.verify(tenant, "cust-1")).ok).toBe(true)
    })

    it("enqueues intents in the same transaction and delivers them in order per subject", async () => {
      const tracker = recordingTracker("t-order")
      const kit = kitWith([tracker.adapter])
      const tenant = uniqueTenant()
      await kit.record(grant(tenant, "s1", "analytics"))
      await kit.record(withdraw(tenant, "s1", "analytics"))
      await kit.record(grant(tenant, "s1", "analytics"))
      expect((await kit.outbox.stats(tenant)).pending).toBe(3)
      // Only the first row of a subject and adapter is claimable while it is pending.
      const claimed = await run(
        store.claim({ owner: "probe", limit: 10, leaseMs: 60_000, now: new Date(), adapters: ["t-order"] }),
      )
      expect(claimed.map((d) => d.intent.kind)).toEqual(["tracking.resume"])
      const blocked = await run(
        store.claim({ owner: "other", limit: 10, leaseMs: 60_000, now: new Date(), adapters: ["t-order"] }),
      )
      expect(blocked.filter((d) => d.intent.tenant === tenant)).toEqual([])
      await run(store.complete(claimed[0]!.id, "probe", new Date()))
      await kit.dispatchPending()
      expect(tracker.seen.map((i) => i.kind)).toEqual(["tracking.stop", "tracking.resume"])
      const stats = await kit.outbox.stats(tenant)
      expect(stats).toMatchObject({ pending: 0, delivered: 3, dead: 0 })
    })

    it("lets a lease expire and ignores a stale owner's completion", async () => {
      const kit = kitWith([recordingTracker("t-lease").adapter])
      const tenant = uniqueTenant()
      await kit.record(grant(tenant, "s1", "analytics"))
      const t0 = new Date()
      const [first] = await run(
        store.claim({ owner: "a", limit: 10, leaseMs: 1_000, now: t0, adapters: ["t-lease"] }),
      )
      const mine = first!.intent.tenant === tenant ? first! : undefined
      expect(mine).toBeDefined()
      const later = new Date(t0.getTime() + 5_000)
      const again = await run(
        store.claim({ owner: "b", limit: 10, leaseMs: 1_000, now: later, adapters: ["t-lease"] }),
      )
      expect(again.find((d) => d.id === mine!.id)?.attempts).toBe(2)
      await run(store.complete(mine!.id, "a", later))
      expect((await kit.outbox.stats(tenant)).pending).toBe(1)
      await run(store.complete(mine!.id, "b", later))
      expect((await kit.outbox.stats(tenant)).delivered).toBe(1)
    })

    it("retries a failing adapter, parks the row as a dead letter, and replays it", async () => {
      const tracker = recordingTracker("t-retry")
      const kit = kitWith([tracker.adapter], { maxAttempts: 3 })
      const tenant = uniqueTenant()
      await kit.record(grant(tenant, "s1", "analytics"))
      await kit.dispatchPending()
      tracker.failNext(2)
      await kit.record(withdraw(tenant, "s1", "analytics"))
      await kit.dispatchPending()
      expect(tracker.seen.map((i) => i.kind)).toEqual(["tracking.resume", "tracking.stop"])
      tracker.failNext(3)
      await kit.record(grant(tenant, "s1", "analytics"))
      await kit.dispatchPending()
      await kit.record(withdraw(tenant, "s1", "analytics"))
      await kit.dispatchPending()
      const dead = await kit.outbox.deadLetters({ tenant })
      expect(dead.map((d) => [d.intent.kind, d.attempts])).toEqual([["tracking.resume", 3]])
      expect(dead[0]!.lastError).toContain("provider unavailable")
      // A dead row no longer blocks its subject's later rows.
      expect(tracker.seen.map((i) => i.kind)).toEqual(["tracking.resume", "tracking.stop", "tracking.stop"])
      // Replayed after the later withdrawal, the stale resume is superseded, never applied.
      expect(await kit.outbox.replay(dead.map((d) => d.id))).toBe(1)
      await kit.dispatchPending()
      expect(tracker.seen.map((i) => i.kind)).toEqual(["tracking.resume", "tracking.stop", "tracking.stop"])
      expect(await kit.outbox.deadLetters({ tenant })).toEqual([])
      expect((await run(store.deliveriesOf(dead[0]!.intent.id)))[0]).toMatchObject({ status: "delivered" })
      // Replay of a resume that still holds does reach the adapter.
      tracker.failNext(3)
      await kit.record(grant(tenant, "s1", "analytics"))
      await kit.dispatchPending()
      const deadResume = await kit.outbox.deadLetters({ tenant })
      expect(deadResume).toHaveLength(1)
      await kit.outbox.replay(deadResume.map((d) => d.id))
      await kit.dispatchPending()
      expect(tracker.seen.map((i) => i.kind)).toEqual([
        "tracking.resume",
        "tracking.stop",
        "tracking.stop",
        "tracking.resume",
      ])
    })

    it("erases a subject and keeps only a pseudonymous, verifiable proof", async () => {
      const tracker = recordingTracker("t-erase")
      // A bus takes every intent, so every intent of the subject has an outbox row to check.
      const bus = EventBus.make({ name: "bus-erase", publish: async () => {} })
      const kit = kitWith([tracker.adapter, bus])
      const tenant = uniqueTenant()
      const first = await kit.record(
        grant(tenant, "alice@example.com", "analytics", {
          evidence: { userAgent: "UA-alice", ipHash: "ip-alice", metadata: { email: "alice@example.com" } },
          idempotencyKey: "alice-1",
        }),
      )
      await kit.record(grant(tenant, "anon-alice", "marketing.email"))
      const linked = await kit.link({
        tenant,
        subject: "alice@example.com",
        alias: { kind: "anonymous", value: "anon-alice" },
      })
      // Some of the subject's intents are delivered before the erasure, some after.
      await kit.dispatchPending()
      const before = [...first.intents, ...(linked?.intents ?? [])]
      expect(before.some((i) => i.kind === "consent.changed")).toBe(true)
      const receipt = await kit.erase({ tenant, subject: "alice@example.com", requestedBy: "subject" })
      expect(receipt.pseudonym).not.toContain("alice")
      expect(receipt.eventsKept).toBe(2)
      expect(await run(store.history(tenant, "alice@example.com"))).toEqual([])
      expect(await run(store.state(tenant, "alice@example.com"))).toBeNull()
      expect(await run(store.receipts(tenant, "alice@example.com"))).toEqual([])
      expect(await run(store.resolveAlias(tenant, { kind: "anonymous", value: "anon-alice" }))).toBeNull()
      const proof = await run(store.erasedHistory(tenant, receipt.pseudonym))
      expect(proof).toHaveLength(2)
      expect(JSON.stringify(proof)).not.toMatch(/alice/)
      expect((await Ledger.verify(proof)).ok).toBe(true)
      expect((await kit.decide(tenant, "alice@example.com", "analytics")).allowed).toBe(false)
      // A new command with the erased subject's old idempotency key records anew.
      expect(
        (await kit.record(grant(tenant, "alice@example.com", "analytics", { idempotencyKey: "alice-1" })))
          .duplicate,
      ).toBe(false)
      await kit.dispatchPending()
      const erase = tracker.seen.find((i) => i.kind === "subject.erase")
      expect(erase).toMatchObject({
        subject: "alice@example.com",
        aliases: [{ kind: "anonymous", value: "anon-alice" }],
      })
      const status = await kit.erasureStatus(tenant, receipt.erasureId)
      expect(status.complete).toBe(true)
      expect(status.adapters).toMatchObject([
        { adapter: "t-erase", status: "delivered" },
        { adapter: "bus-erase", status: "delivered" },
      ])
      // Every outbox row of the erased subject is scrubbed, the erase intent's own included.
      for (const id of [...before.map((i) => i.id), receipt.intentId]) {
        const rows = await run(store.deliveriesOf(id))
        expect(rows.length).toBeGreaterThan(0)
        expect(JSON.stringify(rows)).not.toMatch(/alice@example\.com/)
      }
    })

    it("pages an audience by subject id, holding at most one page", async () => {
      const kit = kitWith()
      const tenant = uniqueTenant()
      for (let i = 0; i < 25; i++) {
        const subject = `s${String(i).padStart(3, "0")}`
        await kit.record(
          i % 5 === 0
            ? withdraw(tenant, subject, "marketing.email")
            : grant(tenant, subject, "marketing.email"),
        )
      }
      await kit.record(withdraw(tenant, "s001", "marketing"))
      const seen: Array<string> = []
      let after: string | null = null
      let pages = 0
      do {
        const page: { states: ReadonlyArray<State.SubjectState>; next: string | null } = await run(
          store.audiencePage({ tenant, purposes: ["marketing.email"], after, limit: 7 }),
        )
        expect(page.states.length).toBeLessThanOrEqual(7)
        seen.push(...page.states.map((s) => s.subject))
        after = page.next
        pages++
      } while (after !== null)
      expect(pages).toBeGreaterThanOrEqual(3)
      expect(seen).toEqual([...seen].sort())
      expect(seen).toHaveLength(20)
      const allowed: Array<string> = []
      for await (const subject of kit.audience({ tenant, purpose: "marketing.email", pageSize: 6 }))
        allowed.push(subject)
      expect(allowed).toHaveLength(19)
      expect(allowed).not.toContain("s001")
      expect(allowed).not.toContain("s005")
    })

    it("counts events per purpose, notice version, action and day", async () => {
      const kit = kitWith()
      const tenant = uniqueTenant()
      await kit.record(grant(tenant, "a", "analytics", { occurredAt: "2026-03-01T10:00:00Z" }))
      await kit.record(grant(tenant, "b", "analytics", { occurredAt: "2026-03-01T23:00:00Z" }))
      await kit.record(withdraw(tenant, "a", "analytics", { occurredAt: "2026-03-02T01:00:00Z" }))
      const rows = await run(
        store.rates({ tenant, from: new Date("2026-03-01T00:00:00Z"), to: new Date("2026-03-03T00:00:00Z") }),
      )
      const byKey = Object.fromEntries(
        rows.map((r) => [`${r.purpose}|${r.noticeVersion}|${r.day}|${r.action}`, r.count]),
      )
      expect(byKey).toEqual({ "analytics|1|2026-03-01|grant": 2, "analytics|2|2026-03-02|withdraw": 1 })
    })
  })
}
