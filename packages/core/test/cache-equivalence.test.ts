import { fc, test } from "@fast-check/vitest"
import { Decision, Policy, State } from "@consentkit/core"
import { describe, expect } from "vitest"
import { DecisionCache } from "../src/internal/cache.js"

/**
 * The packed cache answers exactly what `Decision.decide` answers on the whole state: random
 * states (statuses, GPC and guardian bits, expiries, notice versions, channel standings, ages,
 * jurisdictions, odd event ids) decided at random instants, with and without a channel and a
 * jurisdiction override.
 */
const V = (version: number, effectiveAt: string, material: boolean) => ({
  version,
  effectiveAt,
  textHash: `h${version}`,
  material,
})

const policy = Policy.define({
  controller: {
    name: "Test Co.",
    contact: "DPO",
    email: "dpo@test.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://test.example/privacy",
  defaultJurisdiction: "TH",
  defaults: { "US-CA": "opt-out", US: "opt-out" },
  guardianRules: {
    TH: [{ under: 20, rule: "guardian-also" }],
    US: [
      { under: 13, rule: "guardian-only" },
      { under: 16, rule: "guardian-also" },
    ],
  },
  purposes: {
    analytics: {
      title: { en: "Analytics" },
      versions: [
        V(1, "2025-01-01T00:00:00Z", true),
        V(2, "2025-06-01T00:00:00Z", false),
        V(3, "2026-03-01T00:00:00Z", true),
      ],
      defaults: { EU: "opt-in", "US-NY": "opt-out" },
    },
    marketing: {
      title: { en: "Marketing" },
      versions: [V(1, "2025-01-01T00:00:00Z", true), V(2, "2026-02-15T00:00:00Z", true)],
      gpc: true,
      channels: ["email", "sms"],
    },
    "marketing.email": {
      title: { en: "Email" },
      versions: [V(1, "2025-01-01T00:00:00Z", true)],
      channels: ["email"],
    },
    "marketing.email.weekly": {
      title: { en: "Weekly email" },
      versions: [V(1, "2025-01-01T00:00:00Z", true)],
      guardian: false,
    },
    fraud: {
      title: { en: "Fraud" },
      lawfulBasis: "legitimate_interest",
      versions: [V(1, "2025-01-01T00:00:00Z", false)],
    },
    orders: {
      title: { en: "Orders" },
      lawfulBasis: "contract",
      versions: [V(1, "2025-01-01T00:00:00Z", false)],
    },
  },
})

const T0 = Date.parse("2026-02-01T00:00:00Z")
const DAY = 86_400_000
const purposes = [...policy.purposeIds, "gone"] as const
const channels = ["email", "sms", "line"] as const

/** Mostly what the slab holds; now and then what it keeps whole (a channel, an odd id or version, a purpose the policy lacks). */
const rarely = <A, B>(usual: fc.Arbitrary<A>, odd: fc.Arbitrary<B>) =>
  fc.oneof({ arbitrary: usual, weight: 12 }, { arbitrary: odd, weight: 1 })

const standing = fc.record({
  purpose: rarely(fc.constantFrom(...policy.purposeIds), fc.constant("gone")),
  channel: rarely(fc.constant(undefined), fc.constantFrom(...channels)),
  status: fc.constantFrom<State.Status>("granted", "denied", "withdrawn"),
  noticeVersion: rarely(fc.integer({ min: 0, max: 4 }), fc.constant(2.5)),
  // Whole days, as the questions: a decision exactly at an expiry or a version taking effect is asked often.
  expiresIn: fc.option(
    fc.integer({ min: -10, max: 40 }).map((d) => d * DAY),
    { nil: null },
  ),
  eventId: rarely(
    fc.oneof(fc.uuid(), fc.string({ maxLength: 8 }), fc.constant("x".repeat(40)), fc.constant("é-ü")),
    fc.constantFrom("x".repeat(41), "事件"),
  ),
  source: fc.constantFrom("banner", "gpc", "api"),
  actor: fc.constantFrom<"subject" | "guardian" | "operator">("subject", "guardian", "operator"),
  guardianGranted: fc.boolean(),
})

const subjectState = fc.record({
  jurisdiction: fc.option(fc.constantFrom("TH", "US", "US-CA", "US-NY", "EU", "DE"), { nil: null }),
  age: fc.option(fc.constantFrom(8, 12, 13, 15, 17, 19, 30, 15.5), { nil: null }),
  seq: fc.integer({ min: 0, max: 1_000 }),
  standings: fc.array(standing, { maxLength: 8 }),
})

const toState = (s: typeof subjectState extends fc.Arbitrary<infer T> ? T : never): State.SubjectState => {
  const map = new Map<string, State.PurposeState>()
  for (const p of s.standings) {
    map.set(State.keyOf(p.purpose, p.channel), {
      purpose: p.purpose,
      ...(p.channel !== undefined ? { channel: p.channel } : {}),
      status: p.status,
      noticeVersion: p.noticeVersion,
      occurredAt: new Date(T0),
      expiresAt: p.expiresIn === null ? null : new Date(T0 + p.expiresIn),
      eventId: p.eventId,
      seq: s.seq,
      source: p.source,
      actor: p.actor,
      guardianGranted: p.guardianGranted,
    })
  }
  return { ...State.empty("t", "s"), jurisdiction: s.jurisdiction, age: s.age, seq: s.seq, purposes: map }
}

const asked = fc.record({
  purpose: fc.constantFrom(...purposes, "unknown"),
  at: fc.integer({ min: -5, max: 45 }).map((d) => T0 + d * DAY),
  channel: fc.option(fc.constantFrom(...channels), { nil: undefined }),
  jurisdiction: fc.option(fc.constantFrom("TH", "US", "US-CA", "EU"), { nil: undefined, freq: 4 }),
})

describe("the packed decision cache", () => {
  test.prop(
    [
      fc.array(fc.option(subjectState, { nil: null, freq: 8 }), { minLength: 1, maxLength: 6 }),
      fc.array(asked, { minLength: 1, maxLength: 20 }),
    ],
    {
      numRuns: 400,
    },
  )("decides exactly as Decision.decide on the whole state", (states, questions) => {
    const cache = new DecisionCache(policy, 100 * DAY, 4)
    const wholes = states.map((s) => (s === null ? null : toState(s)))
    // More subjects than the cache holds: slots are evicted and reused under the later ones.
    for (const [k, w] of wholes.entries()) cache.set("t", `s${k}`, w, T0 - 10 * DAY)
    const held = wholes.map((_, k) => k).slice(-4)
    for (const k of held) {
      const whole = wholes[k] ?? undefined
      for (const q of questions) {
        const options =
          q.channel !== undefined || q.jurisdiction !== undefined
            ? {
                ...(q.channel !== undefined ? { channel: q.channel } : {}),
                ...(q.jurisdiction !== undefined ? { jurisdiction: q.jurisdiction } : {}),
              }
            : undefined
        const expected = Decision.decide(policy, whole, q.purpose, q.at, options)
        const got = cache.withCached("t", `s${k}`, q.at, (d) => d.decide(q.purpose, q.at, options))
        expect(got).toEqual(expected)
        if (options === undefined) expect(cache.decide("t", `s${k}`, q.purpose, q.at)).toEqual(expected)
      }
    }
  })
})
