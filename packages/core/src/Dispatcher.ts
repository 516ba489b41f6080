/**
 * The dispatcher: claims outbox rows with a lease, delivers each intent to its adapter, retries
 * with exponential backoff and jitter, and parks rows that keep failing as dead letters that an
 * operator can list and replay. Per subject and adapter, a row is claimed only when every earlier
 * row is delivered or dead, so no resume overtakes its suppress. Several dispatchers, in one
 * process or many, can share one outbox; a crash loses nothing (the lease expires and the row is
 * claimed again, and adapters de-duplicate by intent id).
 *
 * @since 0.1.0
 */
import * as CheckpointSink from "./CheckpointSink.js"
import { Clock, Context, Deferred, Effect, Fiber, Layer, PubSub, Random } from "effect"
import type { Adapter } from "./Adapter.js"
import { type Change, ConsentKit, type ConsentKitShape } from "./ConsentKit.js"
import * as Decision from "./Decision.js"
import type { Delivery } from "./ConsentStore.js"
import type { StoreError } from "./Errors.js"
import { randomId } from "./internal/crypto.js"

/** How a dispatcher runs. */
export interface Options {
  /** This dispatcher's id (lease owner); default random. */
  readonly id?: string
  /** Rows claimed per round (default 64). */
  readonly batchSize?: number
  /** How long a claim is held before another dispatcher may take the row (default 30 s). */
  readonly leaseMs?: number
  /** How long one adapter call may take (default a third of `leaseMs`, at most 10 s); must be below `leaseMs`. */
  readonly timeoutMs?: number
  /** Poll interval when idle and not woken (default 1 s). */
  readonly pollMs?: number
  /** Attempts before a row becomes a dead letter (default 8). */
  readonly maxAttempts?: number
  /** First retry delay (default 500 ms), doubled each attempt up to `maxDelayMs` (default 5 min), with jitter. */
  readonly baseDelayMs?: number
  readonly maxDelayMs?: number
  /** Rows delivered at once (default 8). */
  readonly concurrency?: number
  /** Called after each row is delivered or fails (metrics). */
  readonly onDelivery?: (event: DeliveryEvent) => void
  /** Publish a signed checkpoint of these tenants' proof logs to a sink periodically while running. */
  readonly checkpoints?: CheckpointSink.PublishOptions
}

/** What happened to one row. */
export interface DeliveryEvent {
  readonly delivery: Delivery
  readonly outcome: "delivered" | "superseded" | "retry" | "dead"
  readonly error?: string
}

/** What one round did. */
export interface Round {
  readonly claimed: number
  readonly delivered: number
  readonly retried: number
  readonly dead: number
  /** Claimed but not started before the lease ran low: handed back for the next claim. */
  readonly released: number
}

/** A running dispatcher's handle. */
export interface Dispatcher {
  readonly id: string
  /** One round: claim a batch and deliver it. */
  readonly runOnce: Effect.Effect<Round, StoreError>
  /** Rounds until nothing is due (claimable now); returns the totals. Rows waiting on backoff stay pending. */
  readonly drain: Effect.Effect<Round, StoreError>
  /** Wakes the loop now (it also wakes on every commit of the kit's change feed). */
  readonly wake: () => void
  /** Runs forever: rounds while there is work, then waits for a wake, a notification or the poll interval. */
  readonly run: Effect.Effect<never, StoreError>
}

/** The retry delay after `attempts` failed attempts: exponential, capped, with equal jitter. */
export const backoff = (
  attempts: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number => {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

const field = (error: unknown, name: string): unknown =>
  typeof error === "object" && error !== null ? (error as Record<string, unknown>)[name] : undefined

const messageOf = (error: unknown): string => {
  const message = field(error, "message")
  return typeof message === "string" ? message : String(error)
}

/** Retryable unless the error says otherwise (`isRetryable: false`, as a final AdapterError does). */
const isRetryable = (error: unknown): boolean => field(error, "isRetryable") !== false

/** Creates a dispatcher for a runtime's store and adapters. */
export const make = (kit: ConsentKitShape, options: Options = {}): Dispatcher => {
  const id = options.id ?? `dispatcher-${randomId()}`
  const batchSize = options.batchSize ?? 64
  const leaseMs = options.leaseMs ?? 30_000
  // An adapter call must end well inside the lease; by default a third of it, at most 10 s.
  const timeoutMs = options.timeoutMs ?? Math.min(10_000, Math.floor(leaseMs / 3))
  if (timeoutMs >= leaseMs)
    throw new Error(`dispatcher: timeoutMs (${timeoutMs}) must be below leaseMs (${leaseMs})`)
  const pollMs = options.pollMs ?? 1_000
  const maxAttempts = options.maxAttempts ?? 8
  const baseDelayMs = options.baseDelayMs ?? 500
  const maxDelayMs = options.maxDelayMs ?? 300_000
  const concurrency = options.concurrency ?? 8
  const store = kit.store
  const byName = new Map<string, Adapter>(kit.adapters.map((a) => [a.name, a]))
  const names = [...byName.keys()]

  let woken = Deferred.makeUnsafe<void>()
  const wake = () => {
    Deferred.doneUnsafe(woken, Effect.void)
  }

  // Read through the store, not the cache: another instance may have committed the refusal.
  const superseded = (row: Delivery) =>
    Effect.gen(function* () {
      const { kind, purpose, tenant, subject } = row.intent
      if ((kind !== "tracking.resume" && kind !== "messaging.resume") || purpose === null) return false
      const state = yield* kit.state(tenant, subject)
      const now = yield* Clock.currentTimeMillis
      return !Decision.decide(kit.policy, state ?? undefined, purpose, now).allowed
    })

  const observed = (row: Delivery): Change => ({
    tenant: row.intent.tenant,
    subject: row.intent.subject,
    seq: row.intent.seq,
    kind: row.intent.kind === "subject.erase" ? "erase" : "write",
  })

  const deliverOne = (row: Delivery, deadline: number) =>
    Effect.gen(function* () {
      // A delivery may take up to `timeoutMs`; one that could outlast the lease is left for the
      // next claim, so no row is ever delivered by a dispatcher whose lease has run out (another
      // may already hold it, and the subject's next row after it).
      const started = yield* Clock.currentTimeMillis
      if (started > deadline) {
        yield* store.fail(row.id, id, {
          error: "released unstarted: its lease was running out",
          retryAt: new Date(started),
          now: new Date(started),
        })
        return "released" as const
      }
      const adapter = byName.get(row.adapter)!
      // A resume that a later refusal overtook (e.g. replayed from the dead letters) is never applied.
      if (yield* superseded(row)) {
        yield* store.complete(row.id, id, new Date(yield* Clock.currentTimeMillis))
        options.onDelivery?.({ delivery: row, outcome: "superseded" })
        return "delivered" as const
      }
      const outcome = yield* adapter.deliver(row.intent).pipe(
        Effect.timeout(timeoutMs),
        Effect.map(() => ({ ok: true as const })),
        Effect.catch((error: unknown) =>
          Effect.succeed({ ok: false as const, error: messageOf(error), retryable: isRetryable(error) }),
        ),
      )
      const now = new Date(yield* Clock.currentTimeMillis)
      if (outcome.ok) {
        yield* store.complete(row.id, id, now)
        // A delivered intent is news of a change: a cache entry read before it goes (own writes stay).
        kit.observe(observed(row))
        options.onDelivery?.({ delivery: row, outcome: "delivered" })
        return "delivered" as const
      }
      const dead = !outcome.retryable || row.attempts >= maxAttempts
      const jitter = yield* Random.next
      const retryAt = dead
        ? null
        : new Date(now.getTime() + backoff(row.attempts, baseDelayMs, maxDelayMs, () => jitter))
      yield* store.fail(row.id, id, { error: outcome.error, retryAt, now })
      options.onDelivery?.({ delivery: row, outcome: dead ? "dead" : "retry", error: outcome.error })
      return dead ? ("dead" as const) : ("retry" as const)
    })

  const runOnce: Effect.Effect<Round, StoreError> = Effect.gen(function* () {
    if (names.length === 0) return { claimed: 0, delivered: 0, retried: 0, dead: 0, released: 0 }
    const now = new Date(yield* Clock.currentTimeMillis)
    const rows = yield* store.claim({ owner: id, limit: batchSize, leaseMs, now, adapters: names })
    const deadline = now.getTime() + leaseMs - timeoutMs
    const outcomes = yield* Effect.forEach(rows, (row) => deliverOne(row, deadline), { concurrency })
    return {
      claimed: rows.length,
      delivered: outcomes.filter((o) => o === "delivered").length,
      retried: outcomes.filter((o) => o === "retry").length,
      dead: outcomes.filter((o) => o === "dead").length,
      released: outcomes.filter((o) => o === "released").length,
    }
  })

  const drain: Effect.Effect<Round, StoreError> = Effect.gen(function* () {
    const total = { claimed: 0, delivered: 0, retried: 0, dead: 0, released: 0 }
    for (;;) {
      const round = yield* runOnce
      total.claimed += round.claimed
      total.delivered += round.delivered
      total.retried += round.retried
      total.dead += round.dead
      total.released += round.released
      if (round.claimed === 0) return total
    }
  })

  const idle = (feed: PubSub.Subscription<Change>) =>
    Effect.gen(function* () {
      const signal = woken
      const waits: Array<Effect.Effect<void, StoreError>> = [
        Deferred.await(signal),
        Effect.asVoid(PubSub.take(feed)),
        Effect.sleep(pollMs),
      ]
      if (store.waitForWork) waits.push(store.waitForWork(pollMs))
      yield* Effect.raceAll(waits)
      if (signal === woken) woken = Deferred.makeUnsafe<void>()
    })

  const run: Effect.Effect<never, StoreError> = Effect.scoped(
    Effect.gen(function* () {
      // Subscribed before the first round: a commit during any round wakes the next wait.
      const feed = yield* PubSub.subscribe(kit.changes)
      if (options.checkpoints)
        yield* Effect.forkScoped(CheckpointSink.publishEvery(store, options.checkpoints))
      return yield* Effect.forever(
        Effect.gen(function* () {
          if (Deferred.isDoneUnsafe(woken)) woken = Deferred.makeUnsafe<void>()
          // The commits so far are covered by the round about to claim.
          yield* PubSub.takeUpTo(feed, 4_096)
          const round = yield* runOnce
          if (round.claimed === 0) yield* idle(feed)
        }),
      )
    }),
  )

  return { id, runOnce, drain, wake, run }
}

/** Starts a dispatcher in the background of the current scope's runtime; returns a stop function. */
export const start = (dispatcher: Dispatcher): Effect.Effect<{ readonly stop: Effect.Effect<void> }> =>
  Effect.map(
    Effect.forkDetach(
      dispatcher.run.pipe(
        // A store outage must not end the loop: log, wait, go on.
        Effect.catch((error) =>
          Effect.logWarning("dispatcher round failed", error).pipe(Effect.andThen(Effect.sleep(1000))),
        ),
        Effect.forever,
      ),
    ),
    (fiber) => ({ stop: Fiber.interrupt(fiber).pipe(Effect.asVoid) }),
  )

/** The dispatcher as a service, for programs built from layers. */
export class Service extends Context.Service<Service, Dispatcher>()("@consentkit/core/Dispatcher") {}

/**
 * A layer providing a dispatcher over the `ConsentKit` in context. Unless `autoStart` is false it
 * also runs it for the layer's lifetime (interrupted when the scope closes); a store outage is
 * logged and the loop goes on.
 */
export const layer = (
  options: Options & { readonly autoStart?: boolean } = {},
): Layer.Layer<Service, never, ConsentKit> =>
  Layer.effect(
    Service,
    Effect.gen(function* () {
      const dispatcher = make(yield* ConsentKit, options)
      if (options.autoStart !== false) {
        yield* Effect.forkScoped(
          dispatcher.run.pipe(
            Effect.catch((error) =>
              Effect.logWarning("dispatcher round failed", error).pipe(Effect.andThen(Effect.sleep(1000))),
            ),
            Effect.forever,
          ),
        )
      }
      return dispatcher
    }),
  )
