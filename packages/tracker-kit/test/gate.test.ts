import { createConsentKit, type Intent, MemoryStore, Replica, Suppressions } from "@consentkit/core"
import { conformancePolicy, uniqueTenant } from "@consentkit/core/testing"
import { Effect } from "effect"
import { afterAll, expect, it } from "vitest"
import { defineTracker, makeGate } from "../src/index.js"

const erased: Array<ReadonlyArray<string>> = []
const descriptor = defineTracker(
  {
    name: "test-tracker",
    aliasKinds: ["anonymous"],
    erase: async (e) => {
      erased.push(e.identifiers)
    },
  },
  (g) => g,
)
const kit = createConsentKit({
  policy: conformancePolicy,
  store: MemoryStore.make(),
  secret: "s-0123456789abcdef0123456789abcdef",
  trackers: [descriptor],
  dispatcher: { autoStart: false },
})
const gate = kit.adapter(descriptor)
afterAll(() => kit.close())

const intent = (over: Partial<Intent.Intent>): Intent.Intent =>
  ({
    id: "i",
    tenant: "t",
    subject: "s",
    kind: "tracking.stop",
    seq: 1,
    createdAt: new Date(1_000),
    purpose: "analytics",
    reason: "withdrawn",
    categories: ["analytics"],
    channels: [],
    changes: [],
    aliases: [],
    erasureId: null,
    pseudonym: null,
    snapshot: null,
    ...over,
  }) as Intent.Intent

it("a redelivered older stop never overrides a newer resume", async () => {
  await Effect.runPromise(gate.adapter.deliver(intent({ id: "stop", createdAt: new Date(1_000) })))
  expect(gate.isStopped("t", "s", "analytics")).toBe(true)
  await Effect.runPromise(
    gate.adapter.deliver(
      intent({ id: "resume", kind: "tracking.resume", seq: 2, createdAt: new Date(2_000) }),
    ),
  )
  await Effect.runPromise(gate.adapter.deliver(intent({ id: "stop", createdAt: new Date(1_000) })))
  expect(gate.isStopped("t", "s", "analytics")).toBe(false)
})

it("a stopped parent purpose stops its children", async () => {
  await Effect.runPromise(
    gate.adapter.deliver(intent({ id: "m", subject: "p", purpose: "marketing", createdAt: new Date(5) })),
  )
  expect(gate.isStopped("t", "p", "marketing.email")).toBe(true)
  expect(gate.isStopped("t", "p", "analytics")).toBe(false)
})

it("drops and counts events the kit refuses, passes granted ones", async () => {
  const tenant = uniqueTenant()
  const before = gate.stats().dropped
  expect((await gate.check({ tenant, subject: "a", purpose: "analytics" })).allowed).toBe(false)
  await kit.record({
    tenant,
    subject: "a",
    source: "banner",
    decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
  })
  expect((await gate.check({ tenant, subject: "a", purpose: "analytics" })).allowed).toBe(true)
  expect(gate.stats().dropped).toBe(before + 1)
  expect(gate.stats().droppedBy["no_consent"]).toBeGreaterThanOrEqual(1)
})

it("erases once per intent, by the subject and the aliases the provider knows, and stops the subject", async () => {
  const erase = intent({
    id: "erase-1",
    kind: "subject.erase",
    subject: "e",
    purpose: null,
    aliases: [
      { kind: "anonymous", value: "anon-1" },
      { kind: "email", value: "x@example.com" },
    ],
  })
  await Effect.runPromise(gate.adapter.deliver(erase))
  await Effect.runPromise(gate.adapter.deliver(erase))
  expect(erased).toEqual([["e", "anon-1"]])
  expect(gate.isStopped("t", "e", "analytics")).toBe(true)
})

it("orders by ledger position: a newer resume stamped by a clock that lags still wins", async () => {
  const stop = intent({ id: "skew-stop", subject: "skew", seq: 4, createdAt: new Date(9_000) })
  const resume = intent({
    id: "skew-resume",
    subject: "skew",
    kind: "tracking.resume",
    seq: 5,
    createdAt: new Date(3_000),
  })
  await Effect.runPromise(gate.adapter.deliver(stop))
  await Effect.runPromise(gate.adapter.deliver(resume))
  expect(gate.isStopped("t", "skew", "analytics")).toBe(false)
})

it("shares one ordered list with a replica: an erasure holds against replayed older intents on both", async () => {
  const tenant = uniqueTenant()
  const list = Suppressions.make()
  const shared = makeGate({ name: "shared", kit, erase: async () => {}, suppressions: list })
  const replica = Replica.make(conformancePolicy, { suppressions: list })
  const granted = await kit.record({
    tenant,
    subject: "z",
    source: "banner",
    decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
  })
  const changed = granted.intents.find((i) => i.kind === "consent.changed")!
  const resumed = granted.intents.find((i) => i.kind === "tracking.resume")!
  replica.apply(changed)
  await Effect.runPromise(shared.adapter.deliver(resumed))
  expect(replica.decide(tenant, "z", "analytics").allowed).toBe(true)
  const erasedAt = new Date(changed.createdAt.getTime() + 1)
  replica.apply(
    intent({
      id: "z-erase",
      tenant,
      subject: "z",
      kind: "subject.erase",
      purpose: null,
      createdAt: erasedAt,
    }),
  )
  expect(shared.isStopped(tenant, "z", "analytics")).toBe(true)
  // The grant's intents, redelivered after the erasure, bring back neither the state nor the resume.
  replica.apply(changed)
  await Effect.runPromise(shared.adapter.deliver({ ...resumed, id: "z-resume-again" }))
  expect(replica.decide(tenant, "z", "analytics").allowed).toBe(false)
  expect(shared.isStopped(tenant, "z", "analytics")).toBe(true)
})

it("defineTracker: the kit routes by the descriptor and builds it once, with its gate", async () => {
  let built = 0
  const d = defineTracker({ name: "described", erase: async () => {} }, (g) => {
    built++
    return g
  })
  expect(d.kinds).toEqual(gate.adapter.kinds)
  const k = createConsentKit({
    policy: conformancePolicy,
    store: MemoryStore.make(),
    secret: "s-0123456789abcdef0123456789abcdef",
    trackers: [d],
    dispatcher: { autoStart: false },
  })
  const tenant = uniqueTenant()
  await k.record({
    tenant,
    subject: "a",
    source: "banner",
    decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
  })
  expect(built).toBe(0)
  const api = k.adapter(d)
  expect(k.adapter(d)).toBe(api)
  expect((await api.check({ tenant, subject: "a", purpose: "analytics" })).allowed).toBe(true)
  await k.record({
    tenant,
    subject: "a",
    source: "banner",
    decisions: [{ purpose: "analytics", action: "withdraw" }],
  })
  await k.dispatchPending()
  expect(api.isStopped(tenant, "a", "analytics")).toBe(true)
  expect(built).toBe(1)
  await k.close()
})
