/**
 * The Promise API, for apps that do not use Effect: `createConsentKit({ policy, store, ... })`
 * returns an object whose methods are plain `async` functions over the same runtime the Effect
 * service uses.
 *
 * @since 0.1.0
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import type { Adapter } from "./Adapter.js"
import type * as Command from "./Command.js"
import * as ConsentKit from "./ConsentKit.js"
import {
  ConsentStore,
  type ConsentStoreShape,
  type Delivery,
  type OutboxStats,
  type RateRow,
} from "./ConsentStore.js"
import type * as Decision from "./Decision.js"
import type * as Intent from "./Intent.js"
import * as Dispatcher from "./Dispatcher.js"
import * as Gatekeeper from "./Gatekeeper.js"
import { notFollowing } from "./kit/feed.js"
import * as Registry from "./Registry.js"
import * as Secret from "./Secret.js"
import type * as Ledger from "./Ledger.js"
import type * as Policy from "./Policy.js"
import type * as State from "./State.js"

/** A record command whose purposes are typed by the policy. */
export type TypedRecordInput<P extends string> = Omit<Command.RecordInput, "decisions"> & {
  readonly decisions: ReadonlyArray<{
    readonly purpose: P
    /** One channel of the purpose (`line`): the decision is about that channel only. */
    readonly channel?: string
    readonly action: Ledger.Action
    readonly noticeVersion?: number
  }>
}

/** Options of `createConsentKit`. */
export interface ClientOptions<P extends string> {
  readonly policy: Policy.Policy<P>
  /** A store value (e.g. `MemoryStore.make()` or `@consentkit/storage-kysely`'s `kyselyStore(...)`). */
  readonly store: ConsentStoreShape
  /**
   * The kit's secret (pseudonyms of erased subjects, keys for signed visitor cookies): at least 32
   * random bytes from the environment; empty, short and well-known values throw `WeakSecret`.
   */
  readonly secret: string
  readonly trackers?: ReadonlyArray<Registry.Registered>
  readonly messengers?: ReadonlyArray<Registry.Registered>
  readonly buses?: ReadonlyArray<Adapter>
  /** Adapters and adapter descriptors (built with their gate on first delivery or `kit.adapter(d)`). */
  readonly adapters?: ReadonlyArray<Registry.Registered>
  readonly cache?: ConsentKit.Options["cache"]
  /**
   * Following the store's change feed, so withdrawals recorded on other instances reach this
   * kit's cache (on by default where the store has a feed): poll interval, fail-safe bound.
   */
  readonly feed?: ConsentKit.Options["feed"]
  /** Signs each command's receipt as a JWS with its inclusion proofs (`record(...).signedReceipt`). */
  readonly receiptSigner?: ConsentKit.Options["receiptSigner"]
  /** Dispatcher settings; `autoStart: false` leaves delivery to `dispatchPending()` or a separate process. */
  readonly dispatcher?: Dispatcher.Options & { readonly autoStart?: boolean }
}

/** The Promise API. */
export interface Client<P extends string> {
  readonly policy: Policy.Policy<P>
  readonly record: (input: TypedRecordInput<P>) => Promise<ConsentKit.RecordResult>
  readonly gpc: (input: Command.GpcInput) => Promise<ConsentKit.RecordResult | null>
  readonly optOut: (
    input: Command.OptOutInput & { readonly purpose?: P },
  ) => Promise<ConsentKit.RecordResult | null>
  /** Reopens a channel the subject closed alone (a LINE re-follow, an SMS START). */
  readonly optIn: (
    input: Command.OptOutInput & { readonly purpose?: P },
  ) => Promise<ConsentKit.RecordResult | null>
  readonly link: (input: Command.LinkInput) => Promise<ConsentKit.RecordResult | null>
  readonly decide: (
    tenant: string,
    subject: string,
    purpose: P,
    options?: Decision.DecideOptions,
  ) => Promise<Decision.Decision>
  /** From the cache alone: no I/O; undefined on a miss (then call `decide`). */
  readonly decideCached: (tenant: string, subject: string, purpose: P) => Decision.Decision | undefined
  readonly decisions: (tenant: string, subject: string) => Promise<ReadonlyArray<Decision.Decision>>
  readonly gate: {
    /** May this event be collected? Pass a purpose or a tracker category. */
    readonly track: (request: {
      tenant: string
      subject: string
      purpose?: P
      category?: string
    }) => Promise<Decision.Decision>
    /** May this message be sent on this channel (for this purpose)? */
    readonly send: (request: {
      tenant: string
      subject: string
      channel: Policy.Channel
      purpose?: P
    }) => Promise<Decision.Decision>
    /** Like `send`, but rejects with `ConsentRequired` when refused. */
    readonly assertSend: (request: {
      tenant: string
      subject: string
      channel: Policy.Channel
      purpose?: P
    }) => Promise<Decision.Decision>
  }
  /** Which subject an alias (anonymous id, LINE user id, phone number, ...) belongs to; null when unknown. */
  readonly resolveAlias: (tenant: string, alias: Intent.Alias) => Promise<string | null>
  readonly state: (tenant: string, subject: string) => Promise<State.SubjectState | null>
  readonly history: (
    tenant: string,
    subject: string,
    options?: { purpose?: P },
  ) => Promise<ReadonlyArray<Ledger.ConsentEvent>>
  readonly stateAt: (tenant: string, subject: string, at: Date) => Promise<State.SubjectState | null>
  readonly verify: (tenant: string, subject: string) => Promise<Ledger.Verification>
  readonly export: (tenant: string, subject: string) => Promise<ConsentKit.SubjectExport>
  readonly erase: (input: Command.EraseInput) => Promise<ConsentKit.ErasureReceipt>
  readonly erasureStatus: (tenant: string, erasureId: string) => Promise<ConsentKit.ErasureStatus>
  /** Streams the subjects a purpose is allowed for now, page by page (never all in memory). */
  readonly audience: (options: {
    tenant: string
    purpose: P
    /** Only subjects reachable for the purpose on this channel. */
    channel?: string
    pageSize?: number
  }) => AsyncIterable<string>
  readonly rates: (tenant: string, from: Date, to: Date) => Promise<ReadonlyArray<RateRow>>
  readonly outbox: {
    readonly stats: (tenant?: string) => Promise<OutboxStats>
    readonly deadLetters: (options?: {
      tenant?: string
      adapter?: string
      limit?: number
    }) => Promise<ReadonlyArray<Delivery>>
    readonly replay: (ids: ReadonlyArray<string>) => Promise<number>
  }
  /** The API of a registered adapter descriptor, built once with this kit's gatekeeper. */
  readonly adapter: <Api>(descriptor: Gatekeeper.AdapterDescriptor<Api>) => Api
  /** A 32-byte key for one use (`label`), derived from the kit's secret with HKDF (e.g. to sign cookies). */
  readonly deriveKey: (label: string) => Promise<Uint8Array>
  /** The change feed's health (`up`, `lagMs`, how far behind); `following: false` before the kit started or without a feed. */
  readonly feedStatus: () => ConsentKit.FeedStatus
  /** Delivers everything due now, in this process; resolves with what it did. */
  readonly dispatchPending: () => Promise<Dispatcher.Round>
  /** The Effect runtime, for mixing both styles. */
  readonly runtime: ManagedRuntime.ManagedRuntime<ConsentKit.ConsentKit, never>
  /** Stops the dispatcher and releases the runtime. */
  readonly close: () => Promise<void>
}

/**
 * Creates the Promise API.
 *
 * @example
 * ```ts
 * import { createConsentKit, MemoryStore, Policy } from "@consentkit/core"
 *
 * const policy = Policy.define({
 *   controller: { name: "Siam Tea", contact: "DPO", email: "dpo@siamtea.example", phone: "+66 2 000 0000", address: { addressCountry: "TH" } },
 *   policyUrl: "https://siamtea.example/privacy",
 *   purposes: {
 *     "marketing.email": { title: { en: "Email offers" }, versions: [{ version: 1, effectiveAt: "2026-01-01", textHash: "h1", material: true }], channels: ["email"] },
 *   },
 * })
 * const kit = createConsentKit({ policy, store: MemoryStore.make(), secret: process.env.CONSENTKIT_SECRET! })
 * await kit.record({ tenant: "siamtea", subject: "c-1", source: "banner", decisions: [{ purpose: "marketing.email", action: "grant", noticeVersion: 1 }] })
 * const decision = await kit.decide("siamtea", "c-1", "marketing.email") // { allowed: true, reason: "granted", ... }
 * await kit.close()
 * ```
 */
export const createConsentKit = <P extends string>(options: ClientOptions<P>): Client<P> => {
  Secret.assertStrong(options.secret, "createConsentKit's `secret`")
  const registry = Registry.make(
    [
      ...(options.trackers ?? []),
      ...(options.messengers ?? []),
      ...(options.buses ?? []),
      ...(options.adapters ?? []),
    ],
    () => gatekeeper,
  )
  const layer = ConsentKit.layer({
    policy: options.policy,
    adapters: registry.adapters,
    secret: options.secret,
    cache: options.cache,
    ...(options.feed !== undefined ? { feed: options.feed } : {}),
    ...(options.receiptSigner ? { receiptSigner: options.receiptSigner } : {}),
  }).pipe(Layer.provide(Layer.succeed(ConsentStore, options.store)))
  // One runtime holds the kit and its dispatcher; disposing it stops the dispatcher with it.
  const runtime = ManagedRuntime.make(Layer.provideMerge(Dispatcher.layer(options.dispatcher), layer))
  const kitPromise = runtime.runPromise(
    Effect.gen(function* () {
      return yield* ConsentKit.ConsentKit
    }),
  )
  let kitSync: ConsentKit.ConsentKitShape | undefined
  void kitPromise.then((kit) => {
    kitSync = kit
  })
  // Once the kit is built, a call runs at once instead of waiting a turn on the kit's promise.
  const run = <A, E>(f: (kit: ConsentKit.ConsentKitShape) => Effect.Effect<A, E>): Promise<A> =>
    kitSync !== undefined
      ? runtime.runPromise(f(kitSync))
      : kitPromise.then((kit) => runtime.runPromise(f(kit)))

  const dispatcherPromise = runtime.runPromise(
    Effect.gen(function* () {
      return yield* Dispatcher.Service
    }),
  )
  const gatekeeper = Gatekeeper.fromRuntime(options.policy, run, (t, s, p) => kitSync?.decideCached(t, s, p))

  return {
    policy: options.policy,
    record: (input) => run((kit) => kit.record(input)),
    gpc: (input) => run((kit) => kit.gpc(input)),
    // What adapters may call is the gatekeeper's, so both answer alike (a warm cache without entering the runtime).
    optOut: gatekeeper.optOut,
    optIn: gatekeeper.optIn,
    link: gatekeeper.link,
    decide: gatekeeper.decide,
    decideCached: (tenant, subject, purpose) => kitSync?.decideCached(tenant, subject, purpose),
    decisions: gatekeeper.decisions,
    gate: gatekeeper.gate,
    resolveAlias: gatekeeper.resolveAlias,
    state: (tenant, subject) => run((kit) => kit.state(tenant, subject)),
    history: (tenant, subject, opts) => run((kit) => kit.history(tenant, subject, opts)),
    stateAt: (tenant, subject, at) => run((kit) => kit.stateAt(tenant, subject, at)),
    verify: (tenant, subject) => run((kit) => kit.verify(tenant, subject)),
    export: (tenant, subject) => run((kit) => kit.exportSubject(tenant, subject)),
    erase: (input) => run((kit) => kit.erase(input)),
    erasureStatus: (tenant, id) => run((kit) => kit.erasureStatus(tenant, id)),
    audience: gatekeeper.audience,
    rates: (tenant, from, to) => run((kit) => kit.rates(tenant, from, to)),
    outbox: {
      stats: (tenant) => run((kit) => kit.outboxStats(tenant)),
      deadLetters: (opts = {}) =>
        run((kit) =>
          kit.store.deadLetters({ tenant: opts.tenant, adapter: opts.adapter, limit: opts.limit ?? 100 }),
        ),
      replay: (ids) =>
        run((kit) =>
          Effect.tap(kit.store.replay(ids, new Date()), () =>
            Effect.sync(() => dispatcherPromise.then((d) => d.wake())),
          ),
        ),
    },
    adapter: registry.adapter,
    deriveKey: (label) => run((kit) => kit.deriveKey(label)),
    feedStatus: () => kitSync?.feedStatus() ?? notFollowing,
    dispatchPending: () => dispatcherPromise.then((d) => runtime.runPromise(d.drain)),
    runtime,
    close: () => runtime.dispose(),
  }
}
