import { fc, test } from "@fast-check/vitest"
import { Decision, Identity, Ledger, Policy, State } from "@consentkit/core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { type PurposeId, policy } from "./fixtures.js"

const T0 = Date.parse("2026-02-01T00:00:00Z")
const DAY = 86_400_000

type Step = { purpose: string; action: Ledger.Action; at: number; version: number }

let idCounter = 0
const unsealed = (subject: string, s: Step): Ledger.UnsealedEvent => {
  const occurredAt = new Date(s.at)
  return {
    id: `e-${idCounter++}`,
    tenant: "t",
    subject,
    purpose: s.purpose,
    action: s.action,
    noticeVersion: s.version,
    occurredAt,
    recordedAt: occurredAt,
    source: "banner",
    actor: { kind: "subject" },
    evidence: { locale: "th-TH" },
    jurisdiction: "TH",
    subjectAge: null,
    expiresAt: null,
    commandId: "c",
    salt: "00",
  }
}

const withLifetime = (e: Ledger.UnsealedEvent): Ledger.UnsealedEvent => {
  const purpose = policy.purposes.get(e.purpose as PurposeId)!
  if (e.action !== "grant" || !purpose.lifetime) return { ...e, expiresAt: null }
  const d = new Date(e.occurredAt)
  d.setUTCMonth(d.getUTCMonth() + (purpose.lifetime.months ?? 0))
  return { ...e, expiresAt: d }
}

const sealSteps = (subject: string, steps: ReadonlyArray<Step>) =>
  Ledger.sealPromise(
    { seq: 0, hash: null },
    steps.map((s) => withLifetime(unsealed(subject, s))),
  )

const consentPurposes = ["analytics", "marketing", "marketing.email", "marketing.sms"] as const
const action = fc.constantFrom<Ledger.Action>("grant", "deny", "withdraw")
/** The version in force at T0: a grant under it is current. */
const currentAtT0 = (purpose: string) =>
  Policy.currentVersion(policy.purposes.get(purpose as PurposeId)!, T0)!.version
const step = fc
  .record({
    purpose: fc.constantFrom(...consentPurposes),
    action,
    at: fc.integer({ min: T0, max: T0 + 30 * DAY }),
  })
  .map((s) => ({ ...s, version: currentAtT0(s.purpose) }))

describe("decisions", () => {
  test.prop([
    fc.array(step, { maxLength: 12 }),
    fc.constantFrom(...consentPurposes),
    fc.integer({ min: 1, max: 20 }),
  ])("after a withdrawal, every decision denies until a later grant", async (before, purpose, gap) => {
    const last = Math.max(T0, ...before.map((s) => s.at))
    const withdrawAt = last + DAY
    const steps: Array<Step> = [
      ...before,
      { purpose, action: "withdraw", at: withdrawAt, version: currentAtT0(purpose) },
    ]
    const events = await sealSteps("s", steps)
    const state = State.fold("t", "s", events)
    for (let k = 0; k < gap; k++) {
      expect(Decision.decide(policy, state, purpose, withdrawAt + k * 3_600_000).allowed).toBe(false)
    }
    const regranted = State.fold(
      "t",
      "s",
      await sealSteps("s", [
        ...steps,
        { purpose, action: "grant", at: withdrawAt + DAY, version: currentAtT0(purpose) },
      ]),
    )
    const parentRefused = policy.purposes
      .get(purpose)!
      .ancestors.some((a) => regranted.purposes.get(a) && regranted.purposes.get(a)!.status !== "granted")
    expect(Decision.decide(policy, regranted, purpose, withdrawAt + 2 * DAY).allowed).toBe(!parentRefused)
  })

  test.prop([fc.integer({ min: 0, max: 400 })])(
    "a grant expires at its purpose's lifetime, not before",
    async (days) => {
      const grantedAt = Date.parse("2026-01-15T00:00:00Z")
      const events = await sealSteps("s", [
        { purpose: "analytics", action: "grant", at: grantedAt, version: 3 },
      ])
      const state = State.fold("t", "s", events)
      const expiry = Date.parse("2027-02-15T00:00:00Z")
      const now = grantedAt + days * DAY
      const d = Decision.decide(policy, state, "analytics", now)
      expect(d.allowed).toBe(now < expiry)
      expect(d.reason).toBe(now < expiry ? "granted" : "expired")
    },
  )

  test.prop([fc.constantFrom(1, 2), fc.integer({ min: 0, max: 600 })])(
    "a material notice version invalidates earlier grants; a non-material one carries them",
    async (version, days) => {
      // analytics: v1 (material, 2025-01-01), v2 (not material, 2025-06-01), v3 (material, 2026-01-01)
      const grantedAt = Date.parse("2025-07-01T00:00:00Z")
      const events = await sealSteps("s", [{ purpose: "analytics", action: "grant", at: grantedAt, version }])
      const state = State.fold("t", "s", events)
      const now = Date.parse("2025-07-02T00:00:00Z") + days * DAY
      const d = Decision.decide(policy, state, "analytics", now)
      const v3InForce = now >= Date.parse("2026-01-01T00:00:00Z")
      if (now >= Date.parse("2026-08-01T00:00:00Z")) return // expired by its 13-month lifetime
      expect(d.reason).toBe(v3InForce ? "outdated_version" : "granted")
      expect(Policy.isOutdated(policy.purposes.get("analytics")!, version, now)).toBe(v3InForce)
    },
  )

  test.prop([fc.array(step, { maxLength: 10 }), fc.constantFrom<Ledger.Action>("deny", "withdraw")])(
    "a parent's refusal covers all its children",
    async (steps, refusal) => {
      const last = Math.max(T0, ...steps.map((s) => s.at))
      const events = await sealSteps("s", [
        ...steps,
        { purpose: "marketing", action: refusal, at: last + 1, version: 1 },
      ])
      const state = State.fold("t", "s", events)
      for (const child of ["marketing.email", "marketing.sms", "marketing.line"]) {
        const d = Decision.decide(policy, state, child, last + DAY)
        expect(d.allowed).toBe(false)
        expect(d.reason).toBe("parent_withdrawn")
      }
    },
  )
})

describe("identity merge", () => {
  const purposeState = fc.record({
    status: fc.constantFrom<State.Status>("granted", "denied", "withdrawn"),
    at: fc.integer({ min: T0, max: T0 + 100 * DAY }),
  })
  test.prop([fc.option(purposeState, { nil: undefined }), purposeState])(
    "never turns a refusal or withdrawal into a grant",
    (target, alias) => {
      const make = (p: { status: State.Status; at: number }, id: string): State.PurposeState => ({
        purpose: "marketing.email",
        status: p.status,
        noticeVersion: 1,
        occurredAt: new Date(p.at),
        expiresAt: null,
        eventId: id,
        seq: 1,
        source: "banner",
        actor: "subject",
        guardianGranted: false,
      })
      const t = target ? make(target, "t") : undefined
      const a = make(alias, "a")
      const merged = Identity.mergePurpose(t, a)
      if (merged.status === "granted") {
        expect(t === undefined || t.status === "granted").toBe(true)
        expect(a.status).toBe("granted")
      }
      const carried = Identity.merge(
        t ? { ...State.empty("x", "cust"), purposes: new Map([["marketing.email", t]]) } : undefined,
        { ...State.empty("x", "anon"), purposes: new Map([["marketing.email", a]]) },
      )
      if (t && t.status !== "granted") expect(carried.every((c) => c.action !== "grant")).toBe(true)
    },
  )
})

describe("hash chain", () => {
  const chain = fc.array(step, { minLength: 2, maxLength: 8 })
  const field = fc.constantFrom(
    "purpose",
    "action",
    "noticeVersion",
    "occurredAt",
    "recordedAt",
    "source",
    "actor",
    "evidence",
    "jurisdiction",
    "subject",
    "expiresAt",
    "commandId",
    "subjectAge",
    "tenant",
  )
  const tamper = (e: Ledger.ConsentEvent, f: string): Ledger.ConsentEvent => {
    switch (f) {
      case "purpose":
        return { ...e, purpose: e.purpose === "analytics" ? "marketing" : "analytics" }
      case "action":
        return { ...e, action: e.action === "grant" ? "withdraw" : "grant" }
      case "noticeVersion":
        return { ...e, noticeVersion: e.noticeVersion + 1 }
      case "occurredAt":
        return { ...e, occurredAt: new Date(e.occurredAt.getTime() - 1) }
      case "recordedAt":
        return { ...e, recordedAt: new Date(e.recordedAt.getTime() + 1) }
      case "source":
        return { ...e, source: "forged" }
      case "actor":
        return { ...e, actor: { kind: "operator", id: "x" } }
      case "evidence":
        return { ...e, evidence: { ...e.evidence, locale: "en-US" } }
      case "jurisdiction":
        return { ...e, jurisdiction: "EU" }
      case "subject":
        return { ...e, subject: "someone-else" }
      case "expiresAt":
        return { ...e, expiresAt: new Date(4102444800000) }
      case "commandId":
        return { ...e, commandId: "other" }
      case "subjectAge":
        return { ...e, subjectAge: 30 }
      default:
        return { ...e, tenant: "other-tenant" }
    }
  }

  test.prop([chain, fc.nat(), field])(
    "catches any single changed field, at that event",
    async (steps, pick, f) => {
      const events = await sealSteps("s", steps)
      expect((await Ledger.verifyPromise(events)).ok).toBe(true)
      const i = pick % events.length
      const changed = events.map((e, k) => (k === i ? tamper(e, f) : e))
      const result = await Ledger.verifyPromise(changed, events[events.length - 1]!.hash)
      expect(result.ok).toBe(false)
      if (!result.ok) {
        expect(result.problem.kind).toBe("changed")
        expect(result.problem.eventId).toBe(events[i]!.id)
      }
    },
  )

  test.prop([chain, fc.nat()])("catches a removed event", async (steps, pick) => {
    const events = await sealSteps("s", steps)
    const i = pick % events.length
    const removed = events.filter((_, k) => k !== i)
    const result = await Ledger.verifyPromise(removed, events[events.length - 1]!.hash)
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.problem.kind).toBe("removed")
      if (i < events.length - 1) expect(result.problem.eventId).toBe(events[i + 1]!.id)
    }
  })

  test.prop([chain, fc.nat()])("catches two events swapped", async (steps, pick) => {
    const events = await sealSteps("s", steps)
    const i = pick % (events.length - 1)
    const swapped = [...events]
    swapped[i] = events[i + 1]!
    swapped[i + 1] = events[i]!
    const result = await Ledger.verifyPromise(swapped, events[events.length - 1]!.hash)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.problem.kind).toBe("reordered")
  })

  test.prop([chain, fc.nat()])("catches an event inserted into the chain", async (steps, pick) => {
    const events = await sealSteps("s", steps)
    const i = pick % (events.length - 1)
    // A forger can seal a plausible event onto the prefix, but cannot make the next link point at it.
    const [forged] = await Ledger.sealPromise({ seq: events[i]!.seq, hash: events[i]!.hash }, [
      withLifetime(unsealed("s", { purpose: "marketing", action: "grant", at: T0, version: 1 })),
    ])
    const inserted = [...events.slice(0, i + 1), forged!, ...events.slice(i + 1)]
    const result = await Ledger.verifyPromise(inserted, events[events.length - 1]!.hash)
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.problem.kind).toBe("inserted")
      expect(result.problem.eventId).toBe(forged!.id)
    }
  })

  test.prop([chain])("an erased chain still verifies and holds no personal data", async (steps) => {
    const events = await sealSteps("alice@example.com", steps)
    const erased = events.map((e) => Ledger.erase(e, "erased:abc"))
    expect((await Ledger.verifyPromise(erased)).ok).toBe(true)
    expect(JSON.stringify(erased)).not.toContain("alice")
  })
})

describe("the state fold on a tie", () => {
  const at = Date.parse("2026-03-01T10:00:00.000Z")
  const standing = async (steps: ReadonlyArray<Step & { source?: string }>) =>
    State.fold(
      "t",
      "tie",
      await Ledger.sealPromise(
        { seq: 0, hash: null },
        steps.map((s) => ({ ...withLifetime(unsealed("tie", s)), source: s.source ?? "banner" })),
      ),
    ).purposes.get("marketing")?.status

  it("an opt-out on a whole second beats a grant later in that same second (SendGrid's precision)", async () => {
    // The grant is recorded first with milliseconds; the unsubscribe event arrives later, known only to the second.
    expect(
      await standing([
        { purpose: "marketing", action: "grant", at: at + 640, version: currentAtT0("marketing") },
        {
          purpose: "marketing",
          action: "withdraw",
          at,
          version: currentAtT0("marketing"),
          source: "sendgrid",
        },
      ]),
    ).toBe("withdrawn")
    // Recorded the other way round the opt-out still wins the tie.
    expect(
      await standing([
        {
          purpose: "marketing",
          action: "withdraw",
          at,
          version: currentAtT0("marketing"),
          source: "sendgrid",
        },
        { purpose: "marketing", action: "grant", at: at + 640, version: currentAtT0("marketing") },
      ]),
    ).toBe("withdrawn")
  })

  it("at millisecond precision the later instant wins, one source keeps its own order, and a grant a second later lifts the opt-out", async () => {
    const v = currentAtT0("marketing")
    expect(
      await standing([
        { purpose: "marketing", action: "withdraw", at: at + 100, version: v },
        { purpose: "marketing", action: "grant", at: at + 640, version: v },
      ]),
    ).toBe("granted")
    // One source, one instant: its own order stands (a re-grant right after a withdrawal counts).
    expect(
      await standing([
        { purpose: "marketing", action: "withdraw", at, version: v },
        { purpose: "marketing", action: "grant", at, version: v },
      ]),
    ).toBe("granted")
    expect(
      await standing([
        { purpose: "marketing", action: "withdraw", at, version: v, source: "sendgrid" },
        { purpose: "marketing", action: "grant", at: at + 1000, version: v },
      ]),
    ).toBe("granted")
  })
})

describe("sealing prepared events", () => {
  // Values that try to forge the stand-ins the prepared encoding splits on.
  const tricky = fc.oneof(
    fc.string(),
    fc.constantFrom(',"seq":-1.5', ',"prev":"\u0000prev"', '","prev":"\\u0000prev', "\u0000prev", '"seq":1'),
  )
  test.prop([
    fc.array(step, { minLength: 1, maxLength: 6 }),
    tricky,
    tricky,
    fc.option(fc.stringMatching(/^[0-9a-f]{64}$/), { nil: null }),
    fc.integer({ min: 0, max: 1_000_000 }),
    fc.option(tricky, { nil: undefined }),
  ])(
    "prepare + sealPrepared give the same events and hashes as seal, whatever the fields hold",
    async (steps, source, tenant, prev, seq, channel) => {
      // A channel (on channel-level opt-outs) enters the body only when present.
      const events = steps.map((s) => ({
        ...withLifetime(unsealed(source, s)),
        source,
        tenant,
        ...(channel !== undefined ? { channel } : {}),
      }))
      const head = { seq, hash: prev }
      const sealed = await Ledger.sealPromise(head, events)
      const prepared = await Effect.runPromise(
        Effect.flatMap(Ledger.prepare(events), (p) => Ledger.sealPrepared(head, p)),
      )
      expect(prepared).toEqual(sealed)
      const fromGenesis = await Effect.runPromise(
        Effect.flatMap(Ledger.prepare(events), (p) => Ledger.sealPrepared({ seq: 0, hash: null }, p)),
      )
      expect((await Ledger.verifyPromise(fromGenesis)).ok).toBe(true)
    },
  )
})
