import { type ConsentStore, StoreError } from "@consentkit/core"
import { Deferred, Effect } from "effect"
import { type Kysely, sql } from "kysely"
import type { Listener } from "../internal/notify.js"
import type { Tables } from "../schema.js"
import type { StoreContext } from "./context.js"

/** What one subject transaction changed, recorded in the feed at its end. */
export interface PendingChange {
  readonly seq: number
  readonly kind: "write" | "erase"
  /** An erasure is entered under the subject's pseudonym: the feed never names an erased subject. */
  readonly pseudonym?: string
}

const num = (v: number | string | bigint): number => Number(v)

/** A notification payload: the position, a tab, then the rest of the entry as JSON (`[tenant, subject, seq, kind]`). */
const parsePayload = (payload: string): ConsentStore.FeedEntry | null => {
  const tab = payload.indexOf("\t")
  if (tab <= 0) return null
  try {
    const [tenant, subject, seq, kind] = JSON.parse(payload.slice(tab + 1)) as [
      string,
      string,
      number,
      string,
    ]
    const position = Number(payload.slice(0, tab))
    if (!Number.isSafeInteger(position) || typeof tenant !== "string" || typeof subject !== "string")
      return null
    return { position, tenant, subject, seq, kind: kind === "erase" ? "erase" : "write" }
  } catch {
    return null
  }
}

/**
 * Records a subject's change in the feed, inside its transaction. On PostgreSQL with notifications
 * the insert, its NOTIFY and (when intents were enqueued) the dispatchers' wake-up are one
 * statement, so the feed costs no extra round trip; notifications are delivered at commit.
 */
export const recordChange = async (
  conn: Kysely<Tables>,
  tenant: string,
  subject: string,
  change: PendingChange,
  channels: { readonly changes: string; readonly work: string | null } | null,
): Promise<void> => {
  const named = change.pseudonym ?? subject
  const row = { tenant, subject: named, seq: change.seq, kind: change.kind, recorded_at: Date.now() }
  if (channels === null) {
    await conn.insertInto("change").values(row).execute()
    return
  }
  const rest = `\t${JSON.stringify([tenant, named, change.seq, change.kind])}`
  const work = channels.work
  await conn
    .with("c", (db) => db.insertInto("change").values(row).returning("position"))
    .selectFrom("c")
    .select(sql<string>`pg_notify(${channels.changes}, c.position::text || ${rest})`.as("n"))
    .$if(work !== null, (q) => q.select(sql<string>`pg_notify(${work}, '')`.as("w")))
    .execute()
}

/** The store's change feed: an indexed poll everywhere, and NOTIFY subscriptions on a PostgreSQL server. */
export const changeFeed = (ctx: StoreContext, listener: Listener | null): ConsentStore.ChangeFeed => {
  const entryOf = (r: {
    position: number | string | bigint
    tenant: string
    subject: string
    seq: number
    kind: string
  }): ConsentStore.FeedEntry => ({
    position: num(r.position),
    tenant: r.tenant,
    subject: r.subject,
    seq: Number(r.seq),
    kind: r.kind === "erase" ? "erase" : "write",
  })
  const feed: ConsentStore.ChangeFeed = {
    head: ctx.query("read the change feed's head", async (conn) => {
      const row = await conn
        .selectFrom("change")
        .select((eb) => eb.fn.max("position").as("p"))
        .executeTakeFirst()
      return row?.p == null ? 0 : num(row.p as number)
    }),
    since: (after, limit) =>
      ctx.query("read the change feed", async (conn) => {
        const rows = await conn
          .selectFrom("change")
          .select(["position", "tenant", "subject", "seq", "kind"])
          .where("position", ">", after)
          .orderBy("position")
          .limit(limit)
          .execute()
        return rows.map(entryOf)
      }),
    prune: (before) =>
      ctx.query("prune the change feed", async (conn) => {
        const result = await conn
          .deleteFrom("change")
          .where("recorded_at", "<", before.getTime())
          .executeTakeFirst()
        return Number(result.numDeletedRows)
      }),
  }
  if (!listener) return feed
  const unavailable = (message: string, cause?: unknown): StoreError =>
    new StoreError({ code: "UNAVAILABLE", message, isRetryable: true, cause })
  return {
    ...feed,
    subscribe: Effect.acquireRelease(
      Effect.sync(() => {
        const buffered: Array<ConsentStore.FeedEntry> = []
        let arrived = Deferred.makeUnsafe<void>()
        const unsubscribe = listener.subscribe((payload) => {
          const entry = parsePayload(payload)
          if (!entry) return
          // A follower far behind loses the oldest payloads; its poll catches up.
          if (buffered.length >= 10_000) buffered.shift()
          buffered.push(entry)
          Deferred.doneUnsafe(arrived, Effect.void)
        })
        const take = (timeoutMs: number): Effect.Effect<ReadonlyArray<ConsentStore.FeedEntry>, StoreError> =>
          Effect.gen(function* () {
            if (!listener.listening()) {
              // Reconnect (bounded by the caller's timeout); until it listens, the push feed is down.
              yield* Effect.tryPromise({
                try: () => listener.connect(),
                catch: (cause) => unavailable("the LISTEN connection is down", cause),
              })
              if (!listener.listening())
                return yield* Effect.fail(unavailable("the LISTEN connection is down"))
            }
            if (buffered.length === 0) {
              arrived = Deferred.makeUnsafe<void>()
              yield* Effect.raceFirst(Deferred.await(arrived), Effect.sleep(timeoutMs))
            }
            if (!listener.listening() && buffered.length === 0)
              return yield* Effect.fail(unavailable("the LISTEN connection was lost"))
            return buffered.splice(0)
          })
        return { unsubscribe, take }
      }),
      ({ unsubscribe }) => Effect.sync(unsubscribe),
    ),
  }
}
