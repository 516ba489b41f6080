/**
 * Following the store's change feed: every kit drops a cached subject as soon as a newer change of
 * it commits anywhere (another instance, another process), and stops trusting its cache when it
 * has not heard from the feed within `staleAfterMs`.
 *
 * @since 0.3.0
 */
import { Clock, Effect } from "effect"
import type { ChangeFeed, FeedEntry } from "../ConsentStore.js"
import type { DecisionCache } from "../internal/cache.js"
import type { FeedOptions, FeedStatus } from "./types.js"

const PAGE = 1_000
const PRUNE_EVERY_MS = 60_000

/** The follower of one kit: its loop, and what it knows for health metrics. */
export interface Follower {
  /** Runs forever: polls (and on push stores waits for) the feed, applying what it reads to the cache. */
  readonly run: Effect.Effect<never>
  readonly status: (now: number) => FeedStatus
}

/** Sequence bookkeeping: which positions were applied, and holes a committing write may still fill. */
const makeCursor = (start: number, gapMs: number) => {
  let cursor = start
  let top = start
  const seen = new Set<number>()
  let gapSince: number | null = null
  const advance = () => {
    while (seen.delete(cursor + 1)) cursor++
  }
  return {
    get position() {
      return cursor
    },
    get top() {
      return top
    },
    get hasHole() {
      return seen.size > 0
    },
    /** True when the entry is new (not applied before). */
    add(entry: FeedEntry): boolean {
      if (entry.position <= cursor || seen.has(entry.position)) return false
      seen.add(entry.position)
      if (entry.position > top) top = entry.position
      return true
    },
    /**
     * Moves the cursor over every applied position. A hole (a position taken by a write that had
     * not committed when a later one had, or a rolled-back one) is waited for `gapMs`, then skipped.
     */
    settle(now: number) {
      advance()
      if (seen.size === 0) {
        gapSince = null
        return
      }
      if (gapSince === null) gapSince = now
      else if (now - gapSince > gapMs) {
        cursor = Math.min(...seen) - 1
        advance()
        gapSince = seen.size > 0 ? now : null
      }
    },
  }
}

/** Builds the follower of `feed` for `cache`. */
export const makeFollower = (feed: ChangeFeed, cache: DecisionCache, options: FeedOptions = {}): Follower => {
  const pollMs = options.pollMs ?? 50
  const idlePollMs = options.idlePollMs ?? 250
  const staleAfterMs = options.staleAfterMs ?? 1_000
  const gapMs = options.gapMs ?? 10_000
  const retentionMs = options.retentionMs ?? 600_000

  let lastHeard: number | null = null
  // Push stores start by trying their push connection; a failed take falls back to polling.
  let pushUp = feed.subscribe !== undefined
  let head = 0
  let cursor: ReturnType<typeof makeCursor> | null = null
  let lossless = false

  const heard = (now: number) => {
    // Back after longer than the bound: entries may have missed changes the feed no longer holds.
    if (lastHeard !== null && now - lastHeard > staleAfterMs) {
      cache.clear()
    }
    lastHeard = now
    cache.trustUntil(now + staleAfterMs)
  }

  const observe = (e: FeedEntry, now: number) => {
    if (e.kind === "erase") cache.observeTenantErasure(e.tenant, now)
    else cache.observe(e.tenant, e.subject, e.seq, e.kind)
  }

  const apply = (entries: ReadonlyArray<FeedEntry>, now: number) => {
    for (const e of entries) {
      if (e.position > head) head = e.position
      if (cursor === null || cursor.add(e)) observe(e, now)
    }
  }

  const bounded = <A, E>(effect: Effect.Effect<A, E>) => Effect.result(Effect.timeout(effect, staleAfterMs))

  /** One poll: new entries past the highest applied position, and the holes below it if any. */
  const poll = Effect.gen(function* () {
    const c = cursor!
    const fresh = yield* feed.since(c.top, PAGE)
    const holes = c.hasHole ? yield* feed.since(c.position, PAGE) : []
    const now = yield* Clock.currentTimeMillis
    apply(holes, now)
    apply(fresh, now)
    c.settle(now)
    return now
  })

  const run = Effect.gen(function* () {
    const subscribed = feed.subscribe ? yield* Effect.result(feed.subscribe) : null
    const subscription = subscribed?._tag === "Success" ? subscribed.success : null
    if (subscription === null) pushUp = false
    let nextPrune = (yield* Clock.currentTimeMillis) + PRUNE_EVERY_MS
    // Nothing cached is trusted until the feed was heard from.
    cache.trustUntil(0)
    for (;;) {
      const start = yield* bounded(feed.head)
      if (start._tag === "Success") {
        // Reads cached before the start position was known may predate changes before it; a read
        // still in flight is kept from caching over the latest changes by observing them again.
        const recent = yield* bounded(feed.since(Math.max(0, start.success - PAGE), PAGE))
        if (recent._tag === "Success") {
          cache.clear()
          const now = yield* Clock.currentTimeMillis
          for (const e of recent.success) observe(e, now)
          cursor = makeCursor(start.success, gapMs)
          head = start.success
          heard(yield* Clock.currentTimeMillis)
          break
        }
      }
      yield* Effect.sleep(pollMs)
    }
    if (subscription?.lossless) {
      // An in-process feed loses nothing and cannot go down: no polls, nothing to go stale.
      lossless = true
      cache.trustUntil(Number.POSITIVE_INFINITY)
      for (;;) {
        const pushed = yield* Effect.result(subscription.take(Number.POSITIVE_INFINITY))
        const now = yield* Clock.currentTimeMillis
        if (pushed._tag === "Success") {
          apply(pushed.success, now)
          cursor!.settle(now)
          lastHeard = now
        }
        if (feed.prune && now >= nextPrune) {
          nextPrune = now + PRUNE_EVERY_MS
          yield* Effect.ignore(feed.prune(new Date(now - retentionMs)))
        }
      }
    }
    let nextPoll = 0
    for (;;) {
      let now = yield* Clock.currentTimeMillis
      if (subscription && pushUp) {
        const pushed = yield* bounded(subscription.take(Math.max(1, Math.min(idlePollMs, nextPoll - now))))
        now = yield* Clock.currentTimeMillis
        if (pushed._tag === "Success") {
          pushUp = true
          apply(pushed.success, now)
          cursor!.settle(now)
          heard(now)
          if (now < nextPoll && !cursor!.hasHole) continue
        } else {
          // The push connection is down: poll at `pollMs` until it is back.
          pushUp = false
          yield* Effect.sleep(pollMs)
        }
      } else {
        yield* Effect.sleep(pollMs)
      }
      const polled = yield* bounded(poll)
      if (polled._tag === "Success") {
        heard(polled.success)
        now = polled.success
        nextPoll = now + (pushUp ? idlePollMs : pollMs)
        // Try the push connection again after every successful poll.
        if (subscription) pushUp = true
      } else {
        // A failed poll is tried again after `pollMs`, not at once (the push path may return at once).
        nextPoll = now + pollMs
      }
      if (feed.prune && now >= nextPrune) {
        nextPrune = now + PRUNE_EVERY_MS
        yield* Effect.ignore(feed.prune(new Date(now - retentionMs)))
      }
    }
  }).pipe(Effect.scoped) as Effect.Effect<never>

  return {
    run,
    status: (now) => ({
      following: true,
      up: lastHeard !== null && (lossless || now - lastHeard <= staleAfterMs),
      push: feed.subscribe !== undefined ? pushUp : null,
      position: cursor?.position ?? 0,
      head,
      lastHeardAt: lastHeard === null ? null : new Date(lastHeard),
      lagMs: lastHeard === null ? null : lossless ? 0 : Math.max(0, now - lastHeard),
    }),
  }
}

/** The status of a kit that follows no feed (its store has none, or `feed: false`). */
export const notFollowing: FeedStatus = {
  following: false,
  up: false,
  push: null,
  position: 0,
  head: 0,
  lastHeardAt: null,
  lagMs: null,
}
