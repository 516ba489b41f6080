/**
 * The in-memory store: the reference implementation of the store port, for tests, browsers and
 * edge runtimes. One process only; everything is lost when it exits.
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Layer, Semaphore } from "effect"
import {
  ConsentStore,
  type ConsentStoreShape,
  type Delivery,
  type ErasureRequest,
  type FeedEntry,
  type StoredCommand,
} from "./ConsentStore.js"
import * as Intent from "./Intent.js"
import { makeMemoryLog } from "./internal/memoryLog.js"
import type { ConsentEvent } from "./Ledger.js"
import * as State from "./State.js"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface Row extends Mutable<Delivery> {
  leaseOwner: string | null
  leaseUntil: number
}

const key = (tenant: string, subject: string) => `${tenant}\u0000${subject}`
/** The subject a row queues behind: an erase intent waits in its pseudonym's lane, behind the rows erasure scrubbed. */
const laneSubject = (intent: Intent.Intent) =>
  intent.kind === "subject.erase" && intent.pseudonym ? intent.pseudonym : intent.subject
const dayOf = (d: Date) => d.toISOString().slice(0, 10)

/** Creates an empty in-memory store. */
export const make = (): ConsentStoreShape => {
  const events = new Map<string, Array<ConsentEvent>>()
  const states = new Map<string, State.SubjectState>()
  const commands = new Map<string, StoredCommand>()
  const aliases = new Map<string, string>()
  const outbox: Array<Row> = []
  const erasures = new Map<string, ErasureRequest>()
  const locks = new Map<string, Semaphore.Semaphore>()
  let nextId = 1
  // The change feed: entries in position order, with when each was recorded (for pruning).
  const feed: Array<{ entry: FeedEntry; at: number }> = []
  let position = 0
  const feedWaiters = new Set<(entries: ReadonlyArray<FeedEntry>) => void>()
  const publish = (entry: Omit<FeedEntry, "position">) => {
    const e: FeedEntry = { ...entry, position: ++position }
    feed.push({ entry: e, at: Date.now() })
    for (const wake of [...feedWaiters]) wake([e])
  }
  const proofLog = makeMemoryLog((tenant) =>
    [...events.entries()].filter(([k]) => k.startsWith(`${tenant}\u0000`)).flatMap(([, list]) => list),
  )

  const lockOf = (k: string) => {
    let lock = locks.get(k)
    if (!lock) {
      lock = Semaphore.makeUnsafe(1)
      locks.set(k, lock)
    }
    return lock
  }

  const store: ConsentStoreShape = {
    capabilities: {
      name: "memory",
      supportsSkipLocked: false,
      supportsListenNotify: false,
      supportsReturning: true,
      multiProcess: false,
    },

    withSubject: (tenant, subject, body) => {
      const k = key(tenant, subject)
      return lockOf(k).withPermits(1)(
        Effect.suspend(() => {
          // Writes are buffered and applied only when the body succeeds: a failure leaves nothing.
          const pending: Array<() => void> = []
          let appended: Array<ConsentEvent> = []
          let state: State.SubjectState | null | undefined
          let change: Omit<FeedEntry, "position"> | null = null
          const tx = {
            state: Effect.sync(() => (state !== undefined ? state : (states.get(k) ?? null))),
            findCommand: (idem: string) => Effect.sync(() => commands.get(key(tenant, idem)) ?? null),
            append: (batch: ReadonlyArray<ConsentEvent>) =>
              Effect.sync(() => {
                appended = [...appended, ...batch]
                pending.push(() => events.set(k, [...(events.get(k) ?? []), ...batch]))
              }),
            saveState: (next: State.SubjectState) =>
              Effect.sync(() => {
                state = next
                change = { tenant, subject, seq: next.seq, kind: "write" }
                pending.push(() => states.set(k, next))
              }),
            enqueue: (batch: ReadonlyArray<{ intent: Delivery["intent"]; adapter: string }>) =>
              Effect.sync(() => {
                pending.push(() => {
                  for (const d of batch) {
                    outbox.push({
                      id: String(nextId++).padStart(12, "0"),
                      intent: d.intent,
                      adapter: d.adapter,
                      status: "pending",
                      attempts: 0,
                      availableAt: d.intent.createdAt,
                      lastError: null,
                      createdAt: d.intent.createdAt,
                      deliveredAt: null,
                      leaseOwner: null,
                      leaseUntil: 0,
                    })
                  }
                })
              }),
            saveCommand: (command: StoredCommand) =>
              Effect.sync(() => {
                pending.push(() => commands.set(key(tenant, command.key), command))
              }),
            addAlias: (alias: Intent.Alias) =>
              Effect.sync(() => {
                pending.push(() => aliases.set(`${tenant}\u0000${alias.kind}\u0000${alias.value}`, subject))
              }),
            aliases: Effect.sync(() => {
              const out: Array<Intent.Alias> = []
              for (const [k2, s] of aliases) {
                const [t, kind, value] = k2.split("\u0000")
                if (t === tenant && s === subject) out.push({ kind: kind!, value: value! })
              }
              return out
            }),
            events: Effect.sync(() => [...(events.get(k) ?? []), ...appended]),
            log: {
              appendLog: (build: Parameters<typeof proofLog.commitAppend>[1]) =>
                Effect.sync(() => {
                  pending.push(() => proofLog.commitAppend(tenant, build))
                }),
            },
            erase: (request: ErasureRequest, erased: ReadonlyArray<ConsentEvent>) =>
              Effect.sync(() => {
                // Entered under the pseudonym, and the subject's earlier entries go: the feed never names an erased subject.
                change = { tenant, subject: request.pseudonym, seq: erased.at(-1)?.seq ?? 0, kind: "erase" }
                pending.push(() => {
                  for (let i = feed.length - 1; i >= 0; i--) {
                    const e = feed[i]!.entry
                    if (e.tenant === tenant && e.subject === subject) feed.splice(i, 1)
                  }
                  events.delete(k)
                  events.set(key(tenant, request.pseudonym), [
                    ...(events.get(key(tenant, request.pseudonym)) ?? []),
                    ...erased,
                  ])
                  states.delete(k)
                  for (const [ck, c] of commands)
                    if (c.tenant === tenant && c.subject === subject) commands.delete(ck)
                  for (const [ak, s] of aliases)
                    if (ak.startsWith(`${tenant}\u0000`) && s === subject) aliases.delete(ak)
                  // Every row already queued, pending ones too, takes the pseudonym; the erase intent
                  // enqueued after this one keeps the id the adapters must erase, in the pseudonym's lane.
                  for (const row of outbox) {
                    if (row.intent.tenant === tenant && row.intent.subject === subject) {
                      row.intent = Intent.scrub(row.intent, request.pseudonym)
                    }
                  }
                  erasures.set(key(tenant, request.id), request)
                })
              }),
          }
          return body(tx).pipe(
            Effect.tap(() =>
              Effect.sync(() => {
                for (const write of pending) write()
                if (change) publish(change)
              }),
            ),
          )
        }),
      )
    },

    state: (tenant, subject) => Effect.sync(() => states.get(key(tenant, subject)) ?? null),

    history: (tenant, subject, options) =>
      Effect.sync(() => {
        const all = events.get(key(tenant, subject)) ?? []
        return options?.purpose ? all.filter((e) => e.purpose === options.purpose) : [...all]
      }),

    stateAt: (tenant, subject, at) =>
      Effect.sync(() => {
        const all = events.get(key(tenant, subject))
        if (!all) return null
        const s = State.at(tenant, subject, all, at)
        return s.seq === 0 ? null : s
      }),

    resolveAlias: (tenant, alias) =>
      Effect.sync(() => aliases.get(`${tenant}\u0000${alias.kind}\u0000${alias.value}`) ?? null),

    receipts: (tenant, subject) =>
      Effect.sync(() => [...commands.values()].filter((c) => c.tenant === tenant && c.subject === subject)),

    audiencePage: ({ tenant, purposes, after, limit }) =>
      Effect.sync(() => {
        const candidates = [...states.values()]
          .filter(
            (s) =>
              s.tenant === tenant &&
              (after === null || s.subject > after) &&
              purposes.some((p) => s.purposes.get(p)?.status === "granted"),
          )
          .sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0))
        const page = candidates.slice(0, limit)
        return { states: page, next: candidates.length > limit ? page[page.length - 1]!.subject : null }
      }),

    rates: ({ tenant, from, to }) =>
      Effect.sync(() => {
        const counts = new Map<
          string,
          {
            purpose: string
            noticeVersion: number
            day: string
            action: ConsentEvent["action"]
            count: number
          }
        >()
        for (const list of events.values()) {
          for (const e of list) {
            if (e.tenant !== tenant || e.occurredAt < from || e.occurredAt >= to) continue
            const day = dayOf(e.occurredAt)
            const k = `${e.purpose}|${e.noticeVersion}|${day}|${e.action}`
            const row = counts.get(k) ?? {
              purpose: e.purpose,
              noticeVersion: e.noticeVersion,
              day,
              action: e.action,
              count: 0,
            }
            row.count++
            counts.set(k, row)
          }
        }
        return [...counts.values()].sort((a, b) =>
          a.day !== b.day
            ? a.day < b.day
              ? -1
              : 1
            : a.purpose < b.purpose
              ? -1
              : a.purpose > b.purpose
                ? 1
                : 0,
        )
      }),

    claim: ({ owner, limit, leaseMs, now, adapters }) =>
      Effect.sync(() => {
        const t = now.getTime()
        const blocked = new Set<string>()
        const claimed: Array<Delivery> = []
        for (const row of outbox) {
          if (row.status !== "pending") continue
          const lane = `${row.intent.tenant}\u0000${laneSubject(row.intent)}\u0000${row.adapter}`
          if (blocked.has(lane)) continue
          blocked.add(lane)
          if (!adapters.includes(row.adapter)) continue
          if (row.availableAt.getTime() > t || row.leaseUntil > t) continue
          row.leaseOwner = owner
          row.leaseUntil = t + leaseMs
          row.attempts += 1
          claimed.push({ ...row })
          if (claimed.length >= limit) break
        }
        return claimed
      }),

    complete: (id, owner, now) =>
      Effect.sync(() => {
        const row = outbox.find((r) => r.id === id)
        if (!row || row.leaseOwner !== owner || row.status !== "pending") return
        row.status = "delivered"
        row.deliveredAt = now
        row.leaseOwner = null
        if (row.intent.kind === "subject.erase" && row.intent.pseudonym) {
          const { tenant, subject } = row.intent
          for (const other of outbox) {
            if (
              other.adapter === row.adapter &&
              other.intent.tenant === tenant &&
              other.intent.subject === subject &&
              other.id <= id
            ) {
              other.intent = Intent.scrub(other.intent, row.intent.pseudonym)
            }
          }
        }
      }),

    fail: (id, owner, { error, retryAt }) =>
      Effect.sync(() => {
        const row = outbox.find((r) => r.id === id)
        if (!row || row.leaseOwner !== owner || row.status !== "pending") return
        row.lastError = error
        row.leaseOwner = null
        row.leaseUntil = 0
        if (retryAt === null) row.status = "dead"
        else row.availableAt = retryAt
      }),

    deadLetters: ({ tenant, adapter, limit }) =>
      Effect.sync(() =>
        outbox
          .filter(
            (r) =>
              r.status === "dead" &&
              (!tenant || r.intent.tenant === tenant) &&
              (!adapter || r.adapter === adapter),
          )
          .slice(0, limit)
          .map((r) => ({ ...r })),
      ),

    replay: (ids, now) =>
      Effect.sync(() => {
        let n = 0
        for (const row of outbox) {
          if (ids.includes(row.id) && row.status === "dead") {
            row.status = "pending"
            row.attempts = 0
            row.availableAt = now
            row.leaseUntil = 0
            n++
          }
        }
        return n
      }),

    deliveriesOf: (intentId) =>
      Effect.sync(() => outbox.filter((r) => r.intent.id === intentId).map((r) => ({ ...r }))),

    outboxStats: (tenant) =>
      Effect.sync(() => {
        const rows = outbox.filter((r) => !tenant || r.intent.tenant === tenant)
        const byAdapter = new Map<
          string,
          { adapter: string; pending: number; delivered: number; dead: number }
        >()
        let oldest: Date | null = null
        for (const r of rows) {
          const a = byAdapter.get(r.adapter) ?? { adapter: r.adapter, pending: 0, delivered: 0, dead: 0 }
          a[r.status]++
          byAdapter.set(r.adapter, a)
          if (r.status === "pending" && (!oldest || r.createdAt < oldest)) oldest = r.createdAt
        }
        const total = (s: Delivery["status"]) => rows.filter((r) => r.status === s).length
        return {
          pending: total("pending"),
          delivered: total("delivered"),
          dead: total("dead"),
          oldestPendingAt: oldest,
          byAdapter: [...byAdapter.values()],
        }
      }),

    erasure: (tenant, id) => Effect.sync(() => erasures.get(key(tenant, id)) ?? null),

    erasedHistory: (tenant, pseudonym) => Effect.sync(() => [...(events.get(key(tenant, pseudonym)) ?? [])]),

    log: proofLog.reads,
    changes: {
      head: Effect.sync(() => position),
      since: (after, limit) =>
        Effect.sync(() => {
          const out: Array<FeedEntry> = []
          for (const { entry } of feed) {
            if (entry.position > after) out.push(entry)
            if (out.length >= limit) break
          }
          return out
        }),
      subscribe: Effect.acquireRelease(
        Effect.sync(() => {
          const buffered: Array<FeedEntry> = []
          let arrived = Deferred.makeUnsafe<void>()
          const push = (entries: ReadonlyArray<FeedEntry>) => {
            buffered.push(...entries)
            Deferred.doneUnsafe(arrived, Effect.void)
          }
          // On the Effect clock, so a test clock drives it like every other wait of the kit.
          const take = (timeoutMs: number) =>
            Effect.suspend(() => {
              if (buffered.length > 0) return Effect.succeed(buffered.splice(0))
              arrived = Deferred.makeUnsafe<void>()
              if (timeoutMs === Number.POSITIVE_INFINITY)
                return Effect.map(Deferred.await(arrived), () => buffered.splice(0))
              return Effect.raceFirst(Deferred.await(arrived), Effect.sleep(timeoutMs)).pipe(
                Effect.map(() => buffered.splice(0)),
              )
            })
          feedWaiters.add(push)
          return { push, take, lossless: true }
        }),
        ({ push }) => Effect.sync(() => feedWaiters.delete(push)),
      ),
      prune: (before) =>
        Effect.sync(() => {
          let n = 0
          while (feed.length > 0 && feed[0]!.at < before.getTime()) {
            feed.shift()
            n++
          }
          return n
        }),
    },
  }
  return store
}

/** A layer providing a fresh in-memory `ConsentStore`. */
export const layer: Layer.Layer<ConsentStore> = Layer.sync(ConsentStore, make)
