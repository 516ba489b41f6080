/**
 * What every concern of the kit shares: the store, the policy, the adapters, the decision cache
 * that writes keep current, and the helpers that read state through it.
 *
 * @since 0.2.0
 */
import { Clock, Effect, PubSub } from "effect"
import { type Adapter, accepts } from "../Adapter.js"
import * as Command from "../Command.js"
import type { ConsentStoreShape } from "../ConsentStore.js"
import { InvalidCommand, type StoreError } from "../Errors.js"
import * as Decision from "../Decision.js"
import { type Decider, DecisionCache } from "../internal/cache.js"
import type * as Intent from "../Intent.js"
import type * as Policy from "../Policy.js"
import type * as State from "../State.js"
import type { Change, Options } from "./types.js"

/** The kit's shared state and helpers, built once per kit. */
export interface KitContext {
  readonly options: Options
  readonly store: ConsentStoreShape
  readonly policy: Policy.Policy
  readonly adapters: ReadonlyArray<Adapter>
  readonly cache: DecisionCache
  readonly changes: PubSub.PubSub<Change>
  /** Puts a subject's state in the cache. */
  readonly remember: (
    tenant: string,
    subject: string,
    state: State.SubjectState | null,
    now: number,
    source?: "read" | "write" | "erase",
  ) => void
  /** Publishes a commit on the change feed (the dispatcher wakes on it). */
  readonly committed: (change: Change) => void
  /**
   * Calls `f` with a decider over the subject's state (from the cache, or read from the store and
   * cached) and the time it was read at; `f` runs at once and must not keep the decider.
   */
  readonly withDecider: <A>(
    tenant: string,
    subject: string,
    f: (decider: Decider, now: number) => A,
  ) => Effect.Effect<A, StoreError>
  /** One outbox row per intent and adapter that takes it. */
  readonly toDeliveries: (
    intents: ReadonlyArray<Intent.Intent>,
  ) => ReadonlyArray<{ intent: Intent.Intent; adapter: string }>
  readonly decode: <S extends Parameters<typeof Command.decode>[0]>(
    schema: S,
    input: unknown,
  ) => Effect.Effect<S["Type"], InvalidCommand>
  /** When a command says it happened: now if unset; a malformed or future time is refused. */
  readonly occurred: (
    value: Date | string | number | undefined,
    now: number,
    path: string,
  ) => Effect.Effect<number, InvalidCommand>
}

export const makeContext = (
  options: Options,
  store: ConsentStoreShape,
  changes: PubSub.PubSub<Change>,
): KitContext => {
  const policy = options.policy
  const adapters = options.adapters ?? []
  const names = new Set<string>()
  for (const a of adapters) {
    if (names.has(a.name)) throw new Error(`two adapters are named "${a.name}": adapter names must be unique`)
    names.add(a.name)
  }
  const ttl = options.cache?.ttlMs ?? 30_000
  const maxSubjects = options.cache?.maxSubjects ?? 100_000
  const cache = new DecisionCache(policy, ttl, maxSubjects)

  const remember = (
    tenant: string,
    subject: string,
    state: State.SubjectState | null,
    now: number,
    source: "read" | "write" | "erase" = "write",
  ) => cache.set(tenant, subject, state, now, source)

  const committed = (change: Change) => {
    PubSub.publishUnsafe(changes, change)
  }

  const withDecider = <A>(tenant: string, subject: string, f: (decider: Decider, now: number) => A) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const hit = cache.withCached(tenant, subject, now, (d) => ({ value: f(d, now) }))
      if (hit !== undefined) return Effect.succeed(hit.value)
      return Effect.map(store.state(tenant, subject), (state) => {
        remember(tenant, subject, state, now, "read")
        const whole = state ?? undefined
        return f(
          { decide: (purpose, at, options) => Decision.decide(policy, whole, purpose, at, options) },
          now,
        )
      })
    })

  const toDeliveries = (intents: ReadonlyArray<Intent.Intent>) =>
    intents.flatMap((intent) =>
      adapters.filter((a) => accepts(a, intent)).map((a) => ({ intent, adapter: a.name })),
    )
  const decode = <S extends Parameters<typeof Command.decode>[0]>(schema: S, input: unknown) => {
    const decoded = Command.decode(schema, input)
    return decoded.ok ? Effect.succeed(decoded.value as S["Type"]) : Effect.fail(decoded.error)
  }

  const occurred = (value: Date | string | number | undefined, now: number, path: string) => {
    if (value === undefined) return Effect.succeed(now)
    const t = Command.instantMs(value)
    if (Number.isNaN(t)) {
      return Effect.fail(
        InvalidCommand.fromIssues([{ code: "MALFORMED", path: [path], message: "is not a valid date" }]),
      )
    }
    if (t > now + Command.MAX_CLOCK_SKEW_MS) {
      return Effect.fail(
        InvalidCommand.fromIssues([{ code: "FUTURE_TIMESTAMP", path: [path], message: "is in the future" }]),
      )
    }
    return Effect.succeed(t)
  }
  return {
    options,
    store,
    policy,
    adapters,
    cache,
    changes,
    remember,
    committed,
    withDecider,
    toDeliveries,
    decode,
    occurred,
  }
}
