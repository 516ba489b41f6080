import { beforeAll, expect, it } from "vitest"
import type { ConsentStoreShape } from "../ConsentStore.js"
import * as Ledger from "../Ledger.js"
import * as State from "../State.js"
import { type ConformancePurpose, uniqueTenant } from "./policy.js"
import { grant, recordingTracker, run, type Suite, withdraw } from "./storeSupport.js"

export const ledgerCases = (suite: Suite): void => {
  const { kitWith } = suite
  let store: ConsentStoreShape
  let rowsOf: ((tenant: string) => Promise<number>) | undefined
  beforeAll(() => {
    store = suite.store()
    rowsOf = suite.rowsOf()
  })

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
    expect(await Ledger.verifyPromise(events, state!.head)).toMatchObject({ ok: true, count: 3 })
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

  it("keeps a channel-level opt-out on its event and in the state, apart from the purpose", async () => {
    const kit = kitWith()
    const tenant = uniqueTenant()
    await kit.record({
      ...grant(tenant, "s-ch", "marketing.line"),
      decisions: [
        { purpose: "marketing.line", action: "grant", noticeVersion: 1 },
        { purpose: "marketing.email", action: "grant", noticeVersion: 1 },
      ],
    })
    const out = await kit.optOut({ tenant, subject: "s-ch", channel: "line", source: "line-unfollow" })
    const events = await run(store.history(tenant, "s-ch"))
    expect(events.map((e) => [e.seq, e.purpose, e.channel ?? null, e.action])).toEqual([
      [1, "marketing.line", null, "grant"],
      [2, "marketing.email", null, "grant"],
      [3, "marketing.line", "line", "withdraw"],
    ])
    expect(events[2]).toEqual(out!.events[0])
    expect("channel" in events[0]!).toBe(false)
    const state = await run(store.state(tenant, "s-ch"))
    expect(State.equivalent(state!, State.fold(tenant, "s-ch", events))).toBe(true)
    expect(state!.purposes.get("marketing.line")!.status).toBe("granted")
    expect(state!.purposes.get(State.keyOf("marketing.line", "line"))).toMatchObject({
      purpose: "marketing.line",
      channel: "line",
      status: "withdrawn",
    })
    expect(await Ledger.verifyPromise(events, state!.head)).toMatchObject({ ok: true, count: 3 })
    expect(
      (await run(store.history(tenant, "s-ch", { purpose: "marketing.line" }))).map((e) => e.seq),
    ).toEqual([1, 3])
    // Another kit on the same store reads the channel's standing back.
    const other = kitWith()
    expect(await other.gate.send({ tenant, subject: "s-ch", channel: "line" })).toMatchObject({
      allowed: false,
      reason: "channel_withdrawn",
    })
    expect((await other.gate.send({ tenant, subject: "s-ch", channel: "email" })).allowed).toBe(true)
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
          i % 2 === 0 ? grant(tenant, "busy", purposes[i % 4]!) : withdraw(tenant, "busy", purposes[i % 4]!),
        ),
      ),
    )
    const events = await run(store.history(tenant, "busy"))
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1))
    const state = await run(store.state(tenant, "busy"))
    expect(State.equivalent(state!, State.fold(tenant, "busy", events))).toBe(true)
    expect((await Ledger.verifyPromise(events, state!.head)).ok).toBe(true)
  })

  it("answers history per purpose and the state at a past instant", async () => {
    const kit = kitWith()
    const tenant = uniqueTenant()
    await kit.record(grant(tenant, "s1", "analytics", { occurredAt: "2026-01-10T00:00:00Z" }))
    await kit.record(withdraw(tenant, "s1", "analytics", { occurredAt: "2026-02-10T00:00:00Z" }))
    await kit.record(grant(tenant, "s1", "marketing.email", { occurredAt: "2026-01-20T00:00:00Z" }))
    expect((await run(store.history(tenant, "s1", { purpose: "analytics" }))).map((e) => e.action)).toEqual([
      "grant",
      "withdraw",
    ])
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
      (await run(store.audiencePage({ tenant: b, purposes: ["analytics"], after: null, limit: 10 }))).states,
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
}
