/**
 * The runtime: records commands (validate, then one store transaction that appends events,
 * updates state and enqueues intents), answers decisions from a cache the writes keep current,
 * gates tracker and messenger calls, links identities, erases, exports and verifies.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, PubSub } from "effect"
import { ConsentStore } from "./ConsentStore.js"
import { makeContext } from "./kit/context.js"
import { makeDecide } from "./kit/decide.js"
import { makeErase } from "./kit/erase.js"
import { makeExport } from "./kit/export.js"
import { makeFollower, notFollowing } from "./kit/feed.js"
import { makeRecord } from "./kit/record.js"
import * as Secret from "./Secret.js"
import type { Change, ConsentKitShape, Options } from "./kit/types.js"

export type {
  Change,
  FeedOptions,
  FeedStatus,
  ConsentKitShape,
  ErasureReceipt,
  ErasureStatus,
  Options,
  RecordResult,
  SendRequest,
  SubjectExport,
  TrackRequest,
} from "./kit/types.js"

/** The runtime service. */
export class ConsentKit extends Context.Service<ConsentKit, ConsentKitShape>()(
  "@consentkit/core/ConsentKit",
) {}

/** Builds the runtime over the store in context; throws `WeakSecret` at once for a weak `secret`. */
export const make = (options: Options): Effect.Effect<ConsentKitShape, never, ConsentStore> => {
  Secret.assertStrong(options.secret, "the kit's `secret`")
  return Effect.gen(function* () {
    const store = yield* ConsentStore
    const ctx = makeContext(options, store, yield* PubSub.sliding<Change>(4_096))
    const { policy, adapters, cache, changes } = ctx
    const { record, gpc, optOut, optIn, link } = makeRecord(ctx)
    const { decide, decideCached, decisions, gateTrack, gateSend, assertSend, audiencePage } = makeDecide(ctx)
    const { erase, erasureStatus } = makeErase(ctx)
    const { verify, exportSubject } = makeExport(ctx)
    const follower =
      store.changes && options.feed !== false ? makeFollower(store.changes, cache, options.feed) : null

    return {
      policy,
      adapters,
      store,
      record,
      gpc,
      optOut,
      optIn,
      link,
      decide,
      decideCached,
      decisions,
      gateTrack,
      gateSend,
      assertSend,
      resolveAlias: (tenant, alias) => store.resolveAlias(tenant, alias),
      state: (tenant, subject) => store.state(tenant, subject),
      history: (tenant, subject, opts) => store.history(tenant, subject, opts),
      stateAt: (tenant, subject, at) => store.stateAt(tenant, subject, at),
      verify,
      exportSubject,
      erase,
      erasureStatus,
      audiencePage,
      rates: (tenant, from, to) => store.rates({ tenant, from, to }),
      outboxStats: (tenant) => store.outboxStats(tenant),
      invalidate: (tenant, subject) => {
        cache.delete(tenant, subject)
      },
      changes,
      observe: (change) => cache.observe(change.tenant, change.subject, change.seq, change.kind),
      follow: follower ? follower.run : Effect.never,
      feedStatus: () => (follower ? follower.status(Date.now()) : notFollowing),
      deriveKey: (label) => Effect.promise(() => Secret.derive(options.secret, label)),
    } satisfies ConsentKitShape
  })
}

/** A layer providing `ConsentKit` over the `ConsentStore` in context; it follows the store's change feed while it lives. */
export const layer = (options: Options): Layer.Layer<ConsentKit, never, ConsentStore> =>
  Layer.effect(
    ConsentKit,
    Effect.tap(make(options), (kit) => Effect.forkScoped(kit.follow)),
  )
