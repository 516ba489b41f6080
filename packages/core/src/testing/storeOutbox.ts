import { beforeAll, expect, it } from "vitest"
import type { ConsentStoreShape } from "../ConsentStore.js"
import * as EventBus from "../EventBus.js"
import * as Ledger from "../Ledger.js"
import type * as State from "../State.js"
import { uniqueTenant } from "./policy.js"
import { grant, recordingTracker, run, type Suite, withdraw } from "./storeSupport.js"

export const outboxCases = (suite: Suite): void => {
  const { kitWith } = suite
  let store: ConsentStoreShape
  beforeAll(() => {
    store = suite.store()
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
    expect((await Ledger.verifyPromise(proof)).ok).toBe(true)
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
}
