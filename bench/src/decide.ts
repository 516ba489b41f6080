import { type ConsentStore, createConsentKit, MemoryStore, State } from "@consentkit/core"
import { Effect } from "effect"
import { Bench } from "tinybench"
import { benchPolicy, PURPOSES } from "./policy.js"
import { type Figure, spread } from "./stats.js"

const TENANT = "bench"

/** A memory store holding `subjects` subjects, each with a decision on every purpose. */
const seededStore = async (subjects: number) => {
  const store = MemoryStore.make()
  const kit = createConsentKit({
    policy: benchPolicy,
    store,
    secret: "bench-0123456789abcdef0123456789abcdef",
    dispatcher: { autoStart: false },
  })
  for (let i = 0; i < subjects; i++) {
    await kit.record({
      tenant: TENANT,
      subject: `s${i}`,
      source: "banner",
      decisions: PURPOSES.map((purpose, k) => ({
        purpose,
        action: (i + k) % 3 === 0 ? "withdraw" : "grant",
        noticeVersion: 1,
      })),
    })
  }
  await kit.close()
  return store
}

/** The store seen through a copy on every read, as a SQL store returns fresh rows. */
const copyingReads = (store: ConsentStore.ConsentStoreShape): ConsentStore.ConsentStoreShape => ({
  ...store,
  state: (tenant, subject) =>
    Effect.map(store.state(tenant, subject), (s) => (s ? State.fromJson(State.toJson(s)) : null)),
})

/** A kit whose cache the first `decide` of each subject fills from the store. */
const readingKit = (store: ConsentStore.ConsentStoreShape, subjects: number) =>
  createConsentKit({
    policy: benchPolicy,
    store: copyingReads(store),
    secret: "bench-0123456789abcdef0123456789abcdef",
    cache: { ttlMs: 3_600_000, maxSubjects: subjects * 2 },
    dispatcher: { autoStart: false },
  })

/**
 * Waits until the kit follows its store's change feed: the follower's start clears the cache
 * (entries cached before the feed's position was known may predate changes), so a cache filled
 * before it would be measured empty.
 */
const following = async (kit: ReturnType<typeof readingKit>) => {
  for (let i = 0; i < 200 && kit.feedStatus().following && !kit.feedStatus().up; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Throws unless every subject is answered from the cache alone (a figure over an empty cache means nothing). */
const assertCached = (kit: ReturnType<typeof readingKit>, subjects: number) => {
  for (let i = 0; i < subjects; i++) {
    if (kit.decideCached(TENANT, `s${i}`, PURPOSES[0] as never) === undefined) {
      throw new Error(`subject s${i} is not cached`)
    }
  }
}

/** decide on a warm cache vs a Map lookup of a precomputed answer for the same keys. */
export const decideScenario = async (runs: number): Promise<Figure> => {
  const subjects = 10_000
  const kit = readingKit(await seededStore(subjects), subjects)
  await following(kit)
  const answers = new Map<string, boolean>()
  const keys: Array<readonly [string, string]> = []
  for (let i = 0; i < subjects; i++) {
    for (const p of PURPOSES) {
      const d = await kit.decide(TENANT, `s${i}`, p)
      answers.set(`${TENANT}\u0000s${i}\u0000${p}`, d.allowed)
      keys.push([`s${i}`, p])
    }
  }
  assertCached(kit, subjects)
  let sink = 0
  const ours: Array<number> = []
  const theirs: Array<number> = []
  const ratios: Array<number> = []
  for (let r = 0; r < runs; r++) {
    const bench = new Bench({ time: 500, warmupTime: 100 })
    bench
      .add("consentkit decideCached", () => {
        for (let k = 0; k < keys.length; k += 7) {
          const [subject, purpose] = keys[k]!
          if (kit.decideCached(TENANT, subject, purpose as never)!.allowed) sink++
        }
      })
      .add("Map of precomputed answers", () => {
        for (let k = 0; k < keys.length; k += 7) {
          const [subject, purpose] = keys[k]!
          if (answers.get(`${TENANT}\u0000${subject}\u0000${purpose}`)) sink++
        }
      })
    await bench.run()
    const perCall = Math.ceil(keys.length / 7)
    const [a, b] = bench.tasks.map(
      (t) => (t.result as { throughput: { mean: number } }).throughput.mean * perCall,
    )
    ours.push(a!)
    theirs.push(b!)
    ratios.push(a! / b!)
  }
  if (sink < 0) console.log(sink)
  await kit.close()
  const ratio = spread(ratios)
  return {
    scenario: "decide, warm cache",
    subject: "kit.decideCached",
    baseline: "Map.get of a precomputed answer",
    unit: "decisions/s",
    ours: spread(ours),
    theirs: spread(theirs),
    ratio,
    goal: "≥ 0.5 of the Map",
    met: ratio.median >= 0.5,
  }
}

/**
 * Heap bytes per cached subject with five purposes, against a Map of five booleans per subject.
 * ArrayBuffer memory (the cache's slabs live outside the JS heap) is counted with the heap.
 */
export const heapScenario = async (runs: number): Promise<Figure> => {
  const collect = (globalThis as { gc?: () => void }).gc
  const gc = async () => {
    for (let i = 0; i < 2 && collect; i++) {
      collect()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  const subjects = 20_000
  const store = await seededStore(subjects)
  const ours: Array<number> = []
  const theirs: Array<number> = []
  // Every run's kit and Map stay alive until the end: a kit closed in one run is released over
  // later turns of the event loop and would hide the next run's growth (figures of ~0 bytes).
  const kept: Array<unknown> = []
  const kits: Array<ReturnType<typeof readingKit>> = []
  const used = () => {
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers
  }
  for (let r = 0; r < runs; r++) {
    const kit = readingKit(store, subjects)
    kits.push(kit)
    await following(kit)
    await gc()
    const before = used()
    for (let i = 0; i < subjects; i++) for (const p of PURPOSES) await kit.decide(TENANT, `s${i}`, p as never)
    await gc()
    ours.push((used() - before) / subjects)
    assertCached(kit, subjects)
    const mapBefore = used()
    const plain = new Map<string, Map<string, boolean>>()
    for (let i = 0; i < subjects; i++) plain.set(`s${i}`, new Map(PURPOSES.map((p) => [p, true])))
    kept.push(plain)
    await gc()
    theirs.push((used() - mapBefore) / subjects)
  }
  for (const kit of kits) await kit.close()
  const o = spread(ours)
  const t = spread(theirs)
  return {
    scenario: "heap per cached subject (5 purposes)",
    subject: "decision cache entry (packed slot + subject key)",
    baseline: "Map of 5 booleans per subject",
    unit: "bytes",
    ours: o,
    theirs: t,
    ratio: { min: o.min / t.max, median: o.median / t.median, max: o.max / t.min },
    goal: "reported (lower is better)",
    met: null,
    note: collect ? undefined : "run with --expose-gc for stable heap figures",
  }
}
