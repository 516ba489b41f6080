/**
 * A replica kept current from the bus: a service that only reads consent subscribes its own
 * consumer group and answers `track`/`send`/`decide` from memory, never from the database.
 *
 * @since 0.1.0
 */
import { type Intent, type Policy, Replica } from "@consentkit/core"

/** The part of a bus a replica needs: a durable subscription per group. */
export interface Subscribable {
  readonly subscribe: (options: {
    readonly group: string
    readonly onIntent: (intent: Intent.Intent) => Promise<void>
    readonly rewind?: boolean
  }) => Promise<{ readonly ready?: Promise<void>; readonly close: () => Promise<void> }>
}

/** What `subscribeReplica` takes. */
export interface ReplicaOptions {
  readonly bus: Subscribable
  readonly policy: Policy.Policy
  /**
   * This process's own consumer group (e.g. `checkout-api-${hostname()}`): every replica must see
   * every message, so instances never share one. It is rewound to the stream's first message at
   * each start, since a replica keeps nothing across restarts.
   */
  readonly group: string
  /** An existing replica to feed (default: a new one). */
  readonly replica?: Replica.Replica
}

/** A replica and its subscription. */
export interface ReplicaSubscription {
  /** The local copy: `replica.track(...)`, `replica.send(...)`, `replica.decide(...)`. */
  readonly replica: Replica.Replica
  /** Resolves once the backlog present at subscribe time is applied (serve reads after it). */
  readonly ready: Promise<void>
  /** Stops following the bus; the replica keeps what it has. */
  readonly close: () => Promise<void>
}

/**
 * Subscribes a replica to the bus: every `consent.changed` and `subject.erase` updates it.
 *
 * @example
 * ```ts
 * const { replica, ready } = await subscribeReplica({ bus, policy, group: `checkout-api-${hostname()}` })
 * await ready
 * replica.send({ tenant: "siamtea", subject: "c-1", channel: "email" }).allowed
 * ```
 */
export const subscribeReplica = async (options: ReplicaOptions): Promise<ReplicaSubscription> => {
  const replica = options.replica ?? Replica.make(options.policy)
  const subscription = await options.bus.subscribe({
    group: options.group,
    rewind: true,
    onIntent: async (intent) => {
      replica.apply(intent)
    },
  })
  return { replica, ready: subscription.ready ?? Promise.resolve(), close: subscription.close }
}
