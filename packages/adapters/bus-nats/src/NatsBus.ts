/**
 * The NATS JetStream bus: an adapter that publishes every intent to
 * `<prefix>.<tenant>.<kind>` with the intent id as the JetStream message id (the stream's
 * duplicate window drops a redelivery), and durable consumer groups for the services that read it.
 *
 * @since 0.1.0
 */
import { type Adapter, EventBus, type Intent } from "@consentkit/core"
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from "@nats-io/jetstream"
import { connect, type NatsConnection, nanos } from "@nats-io/transport-node"
import { decodeIntent, encodeIntent } from "./Codec.js"

/** How the bus connects and where it publishes. */
export interface NatsBusOptions {
  /** A connection the app owns (the bus never closes it). */
  readonly connection?: NatsConnection
  /** Servers to connect to when no `connection` is given, e.g. `"nats://127.0.0.1:4222"`; the bus owns that connection. */
  readonly servers?: string | ReadonlyArray<string>
  /** The JetStream stream (default `CONSENTKIT`). */
  readonly stream?: string
  /** First subject token (default `consentkit`): messages go to `<prefix>.<tenant>.<kind>`. */
  readonly subjectPrefix?: string
  /** The adapter's name in the outbox (default `nats`); never rename a live adapter. */
  readonly name?: string
  /** Kinds to publish (default: all). */
  readonly kinds?: ReadonlyArray<Intent.Kind>
  /**
   * How long JetStream remembers a message id (default 10 minutes). Keep it above the
   * dispatcher's lease plus its longest retry delay, so a redelivery after a crash is dropped.
   */
  readonly duplicateWindowMs?: number
  /** Create the stream when it is missing (default true); false when operators manage it. */
  readonly createStream?: boolean
}

/** What a consumer group subscribes with. */
export interface SubscribeOptions {
  /** The durable consumer's name: every service (or replica set) has its own; instances of one share its work. */
  readonly group: string
  /** Applies one intent; the message is acknowledged after it resolves and redelivered when it rejects. */
  readonly onIntent: (intent: Intent.Intent) => Promise<void>
  /** Only this tenant's messages (default: every tenant). */
  readonly tenant?: string
  /** Where a new group starts: `all` the stream holds (default; a replica rebuilds from it) or only `new` messages. */
  readonly from?: "all" | "new"
  /** Called when a message cannot be read or `onIntent` rejects (default: `console.error`). */
  readonly onError?: (error: unknown, message: { readonly subject: string; readonly seq: number }) => void
  /** How long a delivered message may stay unacknowledged before JetStream redelivers it (default 30 s). */
  readonly ackWaitMs?: number
  /** Delay before a message whose `onIntent` rejected is redelivered (default 1 s). */
  readonly retryDelayMs?: number
  /**
   * Start the group over from the first message the stream holds, dropping where it was. For a
   * replica, whose memory is gone after a restart; only for a group one process uses alone.
   */
  readonly rewind?: boolean
  /** Let JetStream delete the group's consumer after this long without a subscriber (default: never). */
  readonly inactiveMs?: number
}

/** A running subscription. */
export interface NatsSubscription {
  /** Resolves once the backlog that existed when it subscribed has been applied. */
  readonly ready: Promise<void>
  /** Stops pulling; messages already pulled but not applied go back to the group at once. */
  readonly close: () => Promise<void>
}

/** The bus: a publishing adapter for the kit, subscriptions for services. */
export interface NatsBus {
  /** The adapter to pass as `buses: [bus.adapter]`. */
  readonly adapter: Adapter.Adapter
  /** Subscribes a consumer group; the durable consumer resumes where the group left off. */
  readonly subscribe: (options: SubscribeOptions) => Promise<NatsSubscription>
  /** Creates the stream when missing (and allowed) and returns its info. */
  readonly ensureStream: () => Promise<StreamInfo>
  /** The subject an intent is published to. */
  readonly subjectOf: (intent: Pick<Intent.Intent, "tenant" | "kind">) => string
  /** Closes every subscription and, when the bus opened it, the connection. */
  readonly close: () => Promise<void>
}

/**
 * A subject token for a tenant: characters NATS gives meaning to (`.`, `*`, `>`, spaces) are
 * percent-encoded, so every tenant id is exactly one token.
 */
export const tenantToken = (tenant: string): string =>
  encodeURIComponent(tenant).replace(/[.*!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

const NAME = /^[A-Za-z0-9_-]+$/

const isApiError = (error: unknown, code: number) => error instanceof JetStreamApiError && error.code === code

interface Handles {
  readonly nc: NatsConnection
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
}

/**
 * Creates a NATS JetStream bus.
 *
 * @example
 * ```ts
 * import { createConsentKit, MemoryStore } from "@consentkit/core"
 * import { natsBus } from "@consentkit/adapter-bus-nats"
 *
 * const bus = natsBus({ servers: "nats://127.0.0.1:4222" })
 * const kit = createConsentKit({ policy, store: MemoryStore.make(), secret: process.env.CONSENTKIT_SECRET!, buses: [bus.adapter] })
 * const sub = await bus.subscribe({ group: "email-service", onIntent: async (intent) => console.log(intent.kind) })
 * ```
 */
export const natsBus = (options: NatsBusOptions): NatsBus => {
  const stream = options.stream ?? "CONSENTKIT"
  const prefix = options.subjectPrefix ?? "consentkit"
  const duplicateWindowMs = options.duplicateWindowMs ?? 10 * 60_000
  if (!NAME.test(stream)) throw new Error(`stream name "${stream}" may hold only letters, digits, _ and -`)
  if (!NAME.test(prefix)) throw new Error(`subjectPrefix "${prefix}" may hold only letters, digits, _ and -`)
  if (!options.connection && !options.servers) throw new Error("natsBus needs a connection or servers")

  let handles: Promise<Handles> | undefined
  const open = (): Promise<Handles> => {
    handles ??= (async () => {
      const nc =
        options.connection ??
        (await connect({
          servers: typeof options.servers === "string" ? options.servers : [...(options.servers ?? [])],
          name: "consentkit",
        }))
      return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) }
    })().catch((error) => {
      // A failed connect is retried on next use (the dispatcher retries the delivery).
      handles = undefined
      throw error
    })
    return handles
  }

  let streamReady: Promise<StreamInfo> | undefined
  const ensureStream = (): Promise<StreamInfo> => {
    streamReady ??= (async () => {
      const { jsm } = await open()
      try {
        const info = await jsm.streams.info(stream)
        const wanted = `${prefix}.>`
        // A stream operators made for every subject (`>`) holds ours too.
        if (!info.config.subjects?.some((subject) => subject === wanted || subject === ">")) {
          throw new Error(`stream ${stream} exists but does not hold subjects ${wanted}`)
        }
        return info
      } catch (error) {
        if (!isApiError(error, JetStreamApiCodes.StreamNotFound) || options.createStream === false)
          throw error
        return await jsm.streams.add({
          name: stream,
          subjects: [`${prefix}.>`],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          duplicate_window: nanos(duplicateWindowMs),
        })
      }
    })().catch((error) => {
      streamReady = undefined
      throw error
    })
    return streamReady
  }

  const subjectOf = (intent: Pick<Intent.Intent, "tenant" | "kind">) =>
    `${prefix}.${tenantToken(intent.tenant)}.${intent.kind}`

  const adapter = EventBus.make({
    name: options.name ?? "nats",
    kinds: options.kinds,
    publish: async (intent) => {
      await ensureStream()
      const { js } = await open()
      // A duplicate PubAck means JetStream already holds this intent: the delivery succeeded earlier.
      await js.publish(subjectOf(intent), encodeIntent(intent), { msgID: intent.id })
    },
  })

  const subscriptions = new Set<NatsSubscription>()

  const consumerFor = async (h: Handles, o: SubscribeOptions): Promise<Consumer> => {
    if (o.rewind) {
      try {
        await h.jsm.consumers.delete(stream, o.group)
      } catch (error) {
        if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error
      }
    }
    try {
      await h.jsm.consumers.info(stream, o.group)
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error
      await h.jsm.consumers.add(stream, {
        durable_name: o.group,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: o.from === "new" && !o.rewind ? DeliverPolicy.New : DeliverPolicy.All,
        ...(o.inactiveMs === undefined ? {} : { inactive_threshold: nanos(o.inactiveMs) }),
        filter_subject: o.tenant === undefined ? `${prefix}.>` : `${prefix}.${tenantToken(o.tenant)}.>`,
        ack_wait: nanos(o.ackWaitMs ?? 30_000),
        // Unbounded redelivery: a consent change must not be dropped because a service was down.
        max_deliver: -1,
      })
    }
    return h.js.consumers.get(stream, o.group)
  }

  const subscribe = async (o: SubscribeOptions): Promise<NatsSubscription> => {
    if (!NAME.test(o.group)) throw new Error(`group "${o.group}" may hold only letters, digits, _ and -`)
    await ensureStream()
    const h = await open()
    const consumer = await consumerFor(h, o)
    const onError =
      o.onError ??
      ((error, m) => console.error(`consentkit nats: message ${m.seq} on ${m.subject} failed`, error))
    const retryDelayMs = o.retryDelayMs ?? 1_000

    const start = await consumer.info()
    let markReady!: () => void
    const ready = new Promise<void>((resolve) => {
      markReady = resolve
    })
    if (start.num_pending + start.num_ack_pending === 0) markReady()

    const messages: ConsumerMessages = await consumer.consume({ max_messages: 64 })
    let closing = false
    const apply = async (m: JsMsg) => {
      let intent: Intent.Intent
      try {
        intent = decodeIntent(m.string())
      } catch (error) {
        // Not an intent: redelivering cannot fix it, so it leaves the group's queue.
        onError(error, { subject: m.subject, seq: m.seq })
        m.term("not a consentkit intent")
        return
      }
      try {
        await o.onIntent(intent)
        m.ack()
      } catch (error) {
        onError(error, { subject: m.subject, seq: m.seq })
        m.nak(retryDelayMs)
      }
    }
    const loop = (async () => {
      for await (const m of messages) {
        // Pulled but not applied: hand it back now instead of after the ack wait.
        if (closing) {
          m.nak()
          continue
        }
        await apply(m)
        if (m.info.pending === 0) markReady()
      }
    })().catch((error) => {
      // The connection closed under it or the consumer was deleted: report, never crash the host.
      if (!closing) onError(error, { subject: `${prefix}.>`, seq: 0 })
    })

    const subscription: NatsSubscription = {
      ready,
      close: async () => {
        if (closing) return
        closing = true
        subscriptions.delete(subscription)
        await messages.close()
        await loop
        await h.nc.flush()
      },
    }
    subscriptions.add(subscription)
    return subscription
  }

  return {
    adapter,
    subscribe,
    ensureStream,
    subjectOf,
    close: async () => {
      for (const s of [...subscriptions]) await s.close()
      if (handles && !options.connection) {
        const { nc } = await handles
        await nc.drain()
      }
      handles = undefined
      streamReady = undefined
    },
  }
}
