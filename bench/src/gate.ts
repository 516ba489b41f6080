import { type ConsentStore, createConsentKit, MemoryStore, State } from "@consentkit/core"
import { Effect } from "effect"
import { benchPolicy } from "./policy.js"
import { type Figure, spread } from "./stats.js"
import { seeded } from "./stores.js"

const SUBJECTS = 100_000
const EVENTS = 1_000_000
const TENANT = "bench"
const PURPOSES = ["analytics", "marketing"] as const

/** A subject's state as a store returns it: analytics and marketing, each granted or refused. */
const stateOf = (subject: string, analytics: boolean, marketing: boolean, at: string): State.SubjectState =>
  State.fromJson({
    tenant: TENANT,
    subject,
    jurisdiction: "TH",
    age: null,
    seq: 2,
    head: "h",
    purposes: [
      ["analytics", analytics],
      ["marketing", marketing],
    ].map(([purpose, granted], k) => ({
      purpose: purpose as string,
      status: granted ? ("granted" as const) : ("withdrawn" as const),
      noticeVersion: 1,
      occurredAt: at,
      expiresAt: null,
      eventId: `${subject}-${k}`,
      seq: k + 1,
      source: "banner",
      actor: "subject" as const,
      guardianGranted: false,
    })),
  })

/**
 * The tracker gate (`kit.gate.track`, awaited per event as a tracker integration calls it) over
 * 1,000,000 events from 100,000 subjects on a warm cache, vs filtering the same events with a
 * plain `Map` of precomputed answers.
 */
export const gateScenario = async (runs: number): Promise<Figure> => {
  const random = seeded(2026)
  const at = new Date().toISOString()
  const subjects = Array.from({ length: SUBJECTS }, (_, i) => `s${i}`)
  const states = new Map<string, State.SubjectState>()
  const answers = new Map<string, Map<string, boolean>>()
  for (const subject of subjects) {
    const analytics = random() < 0.7
    const marketing = random() < 0.4
    states.set(subject, stateOf(subject, analytics, marketing, at))
    answers.set(
      subject,
      new Map([
        ["analytics", analytics],
        ["marketing", marketing],
      ]),
    )
  }
  // The states come from memory, as a warm replica or a store read would give them.
  const store: ConsentStore.ConsentStoreShape = {
    ...MemoryStore.make(),
    state: (_tenant, subject) => Effect.sync(() => states.get(subject) ?? null),
  }
  const kit = createConsentKit({
    policy: benchPolicy,
    store,
    secret: "bench-0123456789abcdef0123456789abcdef",
    cache: { ttlMs: 3_600_000, maxSubjects: SUBJECTS * 2 },
    dispatcher: { autoStart: false },
  })
  for (const subject of subjects) await kit.decide(TENANT, subject, "analytics")
  const eventSubject = new Uint32Array(EVENTS)
  const eventPurpose = new Uint8Array(EVENTS)
  for (let i = 0; i < EVENTS; i++) {
    eventSubject[i] = Math.floor(random() * SUBJECTS)
    eventPurpose[i] = random() < 0.75 ? 0 : 1
  }

  const ours: Array<number> = []
  const theirs: Array<number> = []
  let expected = -1
  try {
    for (let r = 0; r < runs + 1; r++) {
      let start = performance.now()
      let kept = 0
      for (let i = 0; i < EVENTS; i++) {
        const decision = await kit.gate.track({
          tenant: TENANT,
          subject: subjects[eventSubject[i]!]!,
          purpose: PURPOSES[eventPurpose[i]!]!,
        })
        if (decision.allowed) kept++
      }
      const oursSeconds = (performance.now() - start) / 1000
      start = performance.now()
      let mapKept = 0
      for (let i = 0; i < EVENTS; i++) {
        if (answers.get(subjects[eventSubject[i]!]!)?.get(PURPOSES[eventPurpose[i]!]!) === true) mapKept++
      }
      const theirsSeconds = (performance.now() - start) / 1000
      if (kept !== mapKept) throw new Error(`the gate kept ${kept} events, the Map ${mapKept}`)
      expected = kept
      if (r === 0) continue
      ours.push(EVENTS / oursSeconds)
      theirs.push(EVENTS / theirsSeconds)
    }
  } finally {
    await kit.close()
  }
  return {
    scenario: "tracker gate, 1,000,000 events / 100,000 subjects",
    subject: "await kit.gate.track (warm cache)",
    baseline: "Map of precomputed answers",
    unit: "events/s",
    ours: spread(ours),
    theirs: spread(theirs),
    ratio: spread(ours.map((o, i) => o / theirs[i]!)),
    goal: "reported",
    met: null,
    note: `both kept the same ${expected.toLocaleString("en-US")} of 1,000,000 events; the gate's cost is mostly the await each tracker call makes (its synchronous path is the decide scenario).`,
  }
}
