/**
 * The Redis Streams bus: an adapter that appends every intent to one stream, once per intent id
 * (a Lua script checks and sets a seen key with the append), and consumer groups for the services
 * that read it: acknowledged after the handler resolves, reclaimed from consumers that went away.
 *
 * @since 0.1.0
 */
import { hostname } from "node:os"
import { type Adapter, EventBus, type Intent } from "@consentkit/core"
import { Redis } from "ioredis"
import { decodeIntent, encodeIntent } from "./Codec.js"

/** How the bus connects and where it appends. */
export interface RedisBusOptions {
  /** A client the app owns (the bus never closes it; subscriptions open their own duplicates). */
  readonly client?: Redis
  /** A Redis URL when no `client` is given, e.g. `"redis://127.0.0.1:6379"`; the bus owns that client. */
  readonly url?: string
  /** Key prefix (default `consentkit`): the stream is `{<prefix>}:intents`, one hash slot on a cluster. */
  readonly prefix?: string
  /** The adapter's name in the outbox (default `redis`); never rename a live adapter. */
  readonly name?: string
  /** Kinds to publish (default: all). */
  readonly kinds?: ReadonlyArray<Intent.Kind>
  /**
   * How long an intent id is remembered (default 10 minutes). Keep it above the dispatcher's
   * lease plus its longest retry delay, so a redelivery after a crash is dropped.
   */
  readonly dedupeWindowMs?: number
  /** Trim the stream to about this many entries (default: never). A group offline longer than that misses entries. */
  readonly maxLen?: number
}

/** What a consumer group subscribes with. */
export interface SubscribeOptions {
  /** The consumer group: every service (or replica set) has its own; instances of one share its work. */
  readonly group: string
  /** Applies one intent; the entry is acknowledged after it resolves and retried when it rejects. */
  readonly onIntent: (intent: Intent.Intent) => Promise<void>
  /** Only this tenant's intents (default: every tenant); others are acknowledged unread. */
  readonly tenant?: string
  /** Where a new group starts: `all` the stream holds (default; a replica rebuilds from it) or only `new` entries. */
  readonly from?: "all" | "new"
  /**
   * This instance's consumer name within the group (default: host, pid and a random part). A
   * stable name lets a restarted instance re-read its own unacknowledged entries at once.
   */
  readonly consumer?: string
  /** Called when an entry cannot be read or `onIntent` rejects (default: `console.error`). */
  readonly onError?: (error: unknown, entry: { readonly id: string }) => void
  /**
   * How long an entry may stay unacknowledged before any consumer of the group takes it over
   * (default 30 s): entries of a crashed instance, and entries whose handler rejected, are retried then.
   */
  readonly claimIdleMs?: number
  /** How long one read waits for new entries (default 5 s). */
  readonly blockMs?: number
  /** Entries read at once (default 64). */
  readonly batch?: number
  /**
   * Start the group over from the first entry the stream holds, dropping where it was. For a
   * replica, whose memory is gone after a restart; only for a group one process uses alone.
   */
  readonly rewind?: boolean
}

/** A running subscription. */
export interface RedisSubscription {
  /** Resolves once the backlog that existed when it subscribed has been applied. */
  readonly ready: Promise<void>
  /** Stops reading; entries read but not applied are handed back to the group at once. */
  readonly close: () => Promise<void>
}

/** The bus: a publishing adapter for the kit, subscriptions for services. */
export interface RedisBus {
  /** The adapter to pass as `buses: [bus.adapter]`. */
  readonly adapter: Adapter.Adapter
  /** Subscribes a consumer group; the group resumes where it left off. */
  readonly subscribe: (options: SubscribeOptions) => Promise<RedisSubscription>
  /** The stream's key. */
  readonly streamKey: string
  /** Closes every subscription and, when the bus opened it, the client. */
  readonly close: () => Promise<void>
}

// Append unless the id was seen. The seen key is set only after XADD succeeds: a failed append
// marks nothing, so the dispatcher's retry appends.
const PUBLISH = `
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
local id
if ARGV[2] ~= '0' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
else
  id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
end
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return id
`

type Entry = [id: string, fields: Array<string> | null]

const field = (fields: ReadonlyArray<string>, name: string): string | undefined => {
  for (let i = 0; i < fields.length - 1; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Creates a Redis Streams bus.
 *
 * @example
 * ```ts
 * import { createConsentKit, MemoryStore } from "@consentkit/core"
 * import { redisBus } from "@consentkit/adapter-bus-redis"
 *
 * const bus = redisBus({ url: "redis://127.0.0.1:6379" })
 * const kit = createConsentKit({ policy, store: MemoryStore.make(), secret: process.env.CONSENTKIT_SECRET!, buses: [bus.adapter] })
 * const sub = await bus.subscribe({ group: "email-service", onIntent: async (intent) => console.log(intent.kind) })
 * ```
 */
export const redisBus = (options: RedisBusOptions): RedisBus => {
  if (!options.client && !options.url) throw new Error("redisBus needs a client or a url")
  const prefix = options.prefix ?? "consentkit"
  const streamKey = `{${prefix}}:intents`
  const seenKey = (id: string) => `{${prefix}}:seen:${id}`
  const dedupeWindowMs = options.dedupeWindowMs ?? 10 * 60_000
  const client = options.client ?? new Redis(options.url!)

  const adapter = EventBus.make({
    name: options.name ?? "redis",
    kinds: options.kinds,
    publish: async (intent) => {
      await client.eval(
        PUBLISH,
        2,
        streamKey,
        seenKey(intent.id),
        String(dedupeWindowMs),
        String(options.maxLen ?? 0),
        "id",
        intent.id,
        "tenant",
        intent.tenant,
        "kind",
        intent.kind,
        "intent",
        encodeIntent(intent),
      )
    },
  })

  const subscriptions = new Set<RedisSubscription>()

  const createGroup = async (group: string, from: "all" | "new") => {
    try {
      await client.call("XGROUP", "CREATE", streamKey, group, from === "new" ? "$" : "0", "MKSTREAM")
    } catch (error) {
      if (!String(error).includes("BUSYGROUP")) throw error
    }
  }

  const subscribe = async (o: SubscribeOptions): Promise<RedisSubscription> => {
    const group = o.group
    const consumer = o.consumer ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
    const claimIdleMs = o.claimIdleMs ?? 30_000
    const blockMs = o.blockMs ?? 5_000
    const batch = o.batch ?? 64
    const onError =
      o.onError ?? ((error, entry) => console.error(`consentkit redis: entry ${entry.id} failed`, error))
    if (o.rewind) {
      // No stream yet means no group to drop.
      if ((await client.exists(streamKey)) === 1) await client.call("XGROUP", "DESTROY", streamKey, group)
    }
    await createGroup(group, o.rewind ? "all" : (o.from ?? "all"))
    // Blocking reads hold their connection, so each subscription reads on its own.
    const reader = client.duplicate()

    let closing = false
    let markReady!: () => void
    const ready = new Promise<void>((resolve) => {
      markReady = resolve
    })
    let caughtUp = false

    const ack = (id: string) => client.call("XACK", streamKey, group, id)

    /** Applies entries in order; returns those left unapplied because the subscription is closing. */
    const applyAll = async (entries: ReadonlyArray<Entry>): Promise<Array<string>> => {
      for (let n = 0; n < entries.length; n++) {
        if (closing) return entries.slice(n).map(([id]) => id)
        const [id, fields] = entries[n]!
        // Trimmed from the stream while pending: nothing left to apply.
        if (fields === null) {
          await ack(id)
          continue
        }
        if (o.tenant !== undefined && field(fields, "tenant") !== o.tenant) {
          await ack(id)
          continue
        }
        let intent: Intent.Intent
        try {
          intent = decodeIntent(field(fields, "intent") ?? "")
        } catch (error) {
          // Not an intent: retrying cannot fix it, so it leaves the group's pending list.
          onError(error, { id })
          await ack(id)
          continue
        }
        try {
          await o.onIntent(intent)
          await ack(id)
        } catch (error) {
          // Stays pending: retried once idle for claimIdleMs, by this or another consumer.
          onError(error, { id })
        }
      }
      return []
    }

    /** Hands entries back: claimed to ourselves with an idle time old enough that any consumer reclaims them now. */
    const handBack = async (ids: ReadonlyArray<string>) => {
      if (ids.length === 0) return
      await client.call(
        "XCLAIM",
        streamKey,
        group,
        consumer,
        "0",
        ...ids,
        "IDLE",
        String(claimIdleMs),
        "JUSTID",
      )
    }

    /** One read; `blockFor` > 0 waits that long for new entries (BLOCK 0 would wait forever, so it is never sent). */
    const read = async (after: string, blockFor: number): Promise<Array<Entry>> => {
      const args = ["GROUP", group, consumer, "COUNT", String(batch)]
      if (blockFor > 0) args.push("BLOCK", String(Math.ceil(blockFor)))
      const reply = (await reader.call("XREADGROUP", ...args, "STREAMS", streamKey, after)) as Array<
        [string, Array<Entry>]
      > | null
      return reply?.[0]?.[1] ?? []
    }

    /** Takes over entries idle for claimIdleMs (a crashed instance's, or ones whose handler rejected). */
    const reclaim = async () => {
      let cursor = "0-0"
      do {
        const [next, entries] = (await client.call(
          "XAUTOCLAIM",
          streamKey,
          group,
          consumer,
          String(claimIdleMs),
          cursor,
          "COUNT",
          String(batch),
        )) as [string, Array<Entry | null>]
        await handBack(await applyAll(entries.filter((e): e is Entry => e !== null)))
        cursor = next
      } while (cursor !== "0-0" && !closing)
    }

    const loop = async () => {
      // Our own unacknowledged entries first (a restarted instance with a stable consumer name).
      for (let after = "0"; !closing; ) {
        const own = await read(after, 0)
        if (own.length === 0) break
        await handBack(await applyAll(own))
        after = own[own.length - 1]![0]
      }
      let nextReclaim = 0
      while (!closing) {
        if (Date.now() >= nextReclaim) {
          await reclaim()
          nextReclaim = Date.now() + Math.max(100, claimIdleMs / 2)
        }
        // Read without waiting until the backlog is done, so `ready` does not wait out a block;
        // after that, wait at most until the next reclaim is due.
        const entries = await read(
          ">",
          caughtUp ? Math.max(1, Math.min(blockMs, nextReclaim - Date.now())) : 0,
        )
        await handBack(await applyAll(entries))
        if (!caughtUp && entries.length < batch) {
          caughtUp = true
          markReady()
        }
      }
    }

    // The reader's id lets close() unblock it; it changes when the reader reconnects.
    let readerId: unknown
    const learnId = () => {
      reader.call("CLIENT", "ID").then(
        (id) => {
          readerId = id
        },
        () => undefined,
      )
    }
    reader.on("ready", learnId)
    readerId = await reader.call("CLIENT", "ID")
    const running = (async () => {
      while (!closing) {
        try {
          await loop()
        } catch (error) {
          if (closing) return
          if (String(error).includes("NOGROUP")) {
            // The stream or group was deleted (e.g. Redis restarted without persistence): start over.
            await createGroup(group, o.from ?? "all").catch(() => undefined)
          } else {
            onError(error, { id: "" })
            await sleep(1_000)
          }
        }
      }
    })()

    const subscription: RedisSubscription = {
      ready,
      close: async () => {
        if (closing) return
        closing = true
        subscriptions.delete(subscription)
        // Ends a blocking read with an empty reply (never mid-delivery, so nothing read is lost);
        // repeated in case the read had not reached the server yet.
        let stopped = false
        void running.then(() => {
          stopped = true
        })
        while (!stopped) {
          if (readerId !== undefined) await client.call("CLIENT", "UNBLOCK", String(readerId))
          await Promise.race([running, sleep(50)])
        }
        await reader.quit()
        // A consumer with nothing pending is forgotten, so short-lived instances do not pile up in the group.
        const pending = (await client.call(
          "XPENDING",
          streamKey,
          group,
          "-",
          "+",
          "1",
          consumer,
        )) as Array<unknown>
        if (pending.length === 0) await client.call("XGROUP", "DELCONSUMER", streamKey, group, consumer)
      },
    }
    subscriptions.add(subscription)
    return subscription
  }

  return {
    adapter,
    subscribe,
    streamKey,
    close: async () => {
      for (const s of [...subscriptions]) await s.close()
      if (!options.client) await client.quit()
    },
  }
}
