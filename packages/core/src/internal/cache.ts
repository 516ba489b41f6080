import * as Decision from "../Decision.js"
import type { Policy } from "../Policy.js"
import type { SubjectState } from "../State.js"

/** How long an observed change keeps a slower read from being cached over it (two generations of this). */
const RECENT_MS = 5_000

interface Entry {
  readonly state: SubjectState | null
  /** Orders writes: the state's seq, or +∞ for an erasure (no read may bring the subject back). */
  readonly version: number
  /** The entry is trusted until then (the TTL). */
  readonly until: number
  /** Decisions already computed, valid until `memoUntil` (the next expiry or notice version taking effect). */
  memo: Map<string, Decision.Decision>
  memoUntil: number
}

/**
 * The decision cache: per tenant and subject, the state and the decisions already made from it.
 * Nested maps avoid building a key string per lookup on the hot path; decisions are memoised
 * until the next instant one could change by itself (a grant expiring, a notice version taking
 * effect), so a warm lookup is two map reads and a comparison.
 */
export class DecisionCache {
  private readonly tenants = new Map<string, Map<string, Entry>>()
  private size = 0
  /** Entries are trusted before this instant: +∞ unless a feed is followed, then the feed's staleness bound. */
  private trustedUntil = Number.POSITIVE_INFINITY
  /**
   * Changes observed lately, by subject key (an erasure as +∞), in two generations rotated every
   * `RECENT_MS`: a read that started before a change committed and returns after it was observed
   * must not be cached over it.
   */
  private recent = new Map<string, number>()
  private older = new Map<string, number>()
  private rotatedAt = 0
  /** When an erasure of each tenant was last seen on the feed. */
  private readonly erasedTenants = new Map<string, number>()
  /** Effective instants of every notice version, ascending. */
  private readonly versionTimes: ReadonlyArray<number>

  constructor(
    private readonly policy: Policy,
    private readonly ttlMs: number,
    private readonly maxSubjects: number,
  ) {
    const times: Array<number> = []
    for (const purpose of policy.purposes.values())
      for (const v of purpose.versions) times.push(v.effectiveAt.getTime())
    this.versionTimes = times.sort((a, b) => a - b)
  }

  /** The cached entry's state, or undefined on a miss or after the TTL. */
  state(tenant: string, subject: string, now: number): SubjectState | null | undefined {
    const entry = this.tenants.get(tenant)?.get(subject)
    return entry && entry.until > now && now < this.trustedUntil ? entry.state : undefined
  }

  /** The decision from the cache alone; undefined on a miss. */
  decide(tenant: string, subject: string, purpose: string, now: number): Decision.Decision | undefined {
    const entry = this.tenants.get(tenant)?.get(subject)
    if (entry === undefined || entry.until <= now || now >= this.trustedUntil) return undefined
    if (now < entry.memoUntil) {
      const hit = entry.memo.get(purpose)
      if (hit !== undefined) return hit
    } else {
      entry.memo = new Map()
      entry.memoUntil = this.horizon(entry, now)
    }
    const decision = Decision.decide(this.policy, entry.state ?? undefined, purpose, now)
    entry.memo.set(purpose, decision)
    return decision
  }

  /**
   * Stores a subject's state as read, written or erased at `now`. While an entry is fresh, a read
   * never replaces a newer state (higher seq) or an erasure that a concurrent write put there: a
   * reader that loaded the state just before a withdrawal committed must not bring the grant back.
   */
  set(
    tenant: string,
    subject: string,
    state: SubjectState | null,
    now: number,
    source: "read" | "write" | "erase" = "write",
  ): void {
    let subjects = this.tenants.get(tenant)
    if (!subjects) {
      subjects = new Map()
      this.tenants.set(tenant, subjects)
    }
    const current = subjects.get(subject)
    if (source === "read" && current && current.until > now && current.version > (state?.seq ?? 0)) return
    if (source === "read" && this.observedAfter(tenant, subject, state?.seq ?? 0, now)) return
    if (subjects.delete(subject)) this.size--
    const version = source === "erase" ? Number.POSITIVE_INFINITY : (state?.seq ?? 0)
    const entry: Entry = { state, version, until: now + this.ttlMs, memo: new Map(), memoUntil: 0 }
    entry.memoUntil = this.horizon(entry, now)
    subjects.set(subject, entry)
    this.size++
    if (this.size > this.maxSubjects) this.evictOne()
  }

  /**
   * A change of a subject seen elsewhere (a delivered intent, another instance): drops an entry
   * that predates it. The kit's own writes are at least as new and stay; an erasure drops every
   * entry but the kit's own erasure.
   */
  observe(tenant: string, subject: string, seq: number, kind: "write" | "erase"): void {
    const k = `${tenant}\u0000${subject}`
    const version = kind === "erase" ? Number.POSITIVE_INFINITY : seq
    if ((this.recent.get(k) ?? -1) < version) this.recent.set(k, version)
    const entry = this.tenants.get(tenant)?.get(subject)
    if (entry === undefined) return
    const stale = kind === "erase" ? entry.version !== Number.POSITIVE_INFINITY : entry.version < seq
    if (stale) this.delete(tenant, subject)
  }

  /**
   * Trusts entries only before `until` (the change feed was last heard + its staleness bound):
   * past it, every lookup misses and reads through to the store.
   */
  trustUntil(until: number): void {
    this.trustedUntil = until
  }

  /**
   * An erasure in the tenant, seen on the change feed (which names no erased subject): every
   * cached subject of the tenant is dropped but the kit's own erasures, and for a while no read
   * of the tenant is cached (one may have started before the erasure committed).
   */
  observeTenantErasure(tenant: string, now: number): void {
    this.erasedTenants.set(tenant, now)
    const subjects = this.tenants.get(tenant)
    if (!subjects) return
    for (const [subject, entry] of subjects) {
      if (entry.version !== Number.POSITIVE_INFINITY) this.delete(tenant, subject)
    }
  }

  /** Forgets every subject (after the change feed was lost for longer than it keeps entries). */
  clear(): void {
    this.tenants.clear()
    this.size = 0
  }

  /** Forgets a subject. */
  delete(tenant: string, subject: string): void {
    const subjects = this.tenants.get(tenant)
    if (subjects?.delete(subject)) {
      this.size--
      if (subjects.size === 0) this.tenants.delete(tenant)
    }
  }

  /** Whether a change newer than `seq` was observed lately (an erasure counts as newer than any read). */
  private observedAfter(tenant: string, subject: string, seq: number, now: number): boolean {
    if (now - this.rotatedAt > RECENT_MS) {
      this.older = this.recent
      this.recent = new Map()
      this.rotatedAt = now
    }
    if (this.erasedTenants.size > 0) {
      const at = this.erasedTenants.get(tenant)
      if (at !== undefined) {
        if (now - at <= RECENT_MS) return true
        this.erasedTenants.delete(tenant)
      }
    }
    if (this.recent.size === 0 && this.older.size === 0) return false
    const k = `${tenant}\u0000${subject}`
    return Math.max(this.recent.get(k) ?? -1, this.older.get(k) ?? -1) > seq
  }

  private evictOne(): void {
    for (const [tenant, subjects] of this.tenants) {
      const oldest = subjects.keys().next()
      if (!oldest.done) {
        subjects.delete(oldest.value)
        this.size--
        if (subjects.size === 0) this.tenants.delete(tenant)
        return
      }
    }
  }

  /** The first instant after `now` at which a decision of this entry could change without a write. */
  private horizon(entry: Entry, now: number): number {
    let until = entry.until
    for (const t of this.versionTimes) {
      if (t > now) {
        until = Math.min(until, t)
        break
      }
    }
    if (entry.state) {
      for (const p of entry.state.purposes.values()) {
        const e = p.expiresAt?.getTime()
        if (e !== undefined && e > now && e < until) until = e
      }
    }
    return until
  }
}
