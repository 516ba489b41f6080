import * as Decision from "../Decision.js"
import * as Policy from "../Policy.js"
import type { SubjectState } from "../State.js"

/** How long an observed change keeps a slower read from being cached over it (two generations of this). */
const RECENT_MS = 5_000

/** Slots per slab chunk: the slabs grow by a chunk, never by copying. */
const CHUNK_BITS = 10
const CHUNK = 1 << CHUNK_BITS
const CHUNK_MASK = CHUNK - 1

/** Event ids up to this many Latin-1 characters are kept in the slab (a UUID has 36). */
const EVENT_ID_BYTES = 40

/** What a slot holds (its first int32). */
const NONE = 0
const PACKED = 1
const WHOLE = 2

/** Per standing flags (one int32 each). */
const PRESENT = 1
const STATUS_SHIFT = 1 // two bits: 0 granted, 1 denied, 2 withdrawn
const STATUS_MASK = 3 << STATUS_SHIFT
const GPC = 1 << 3
const GUARDIAN_ACTOR = 1 << 4
const GUARDIAN_GRANTED = 1 << 5
const STATUSES = ["granted", "denied", "withdrawn"] as const

/** At most this many distinct jurisdictions are interned; a subject in another one is kept whole. */
const MAX_JURISDICTIONS = 4_096

/** What a decision needs of a purpose, precomputed by its index in the policy. */
interface PurposeInfo {
  readonly purpose: Policy.Purpose
  readonly ancestors: ReadonlyArray<number>
}

/** One chunk of the slabs: numbers in typed arrays, none of them JavaScript objects per subject. */
interface Chunk {
  /** Per slot: version, until, age (NaN for none), then each purpose's expiry (NaN for none). */
  readonly f: Float64Array
  /** Per slot: what it holds, the jurisdiction code (-1 for none), then each purpose's flags, notice version and event id length. */
  readonly i: Int32Array
  /** Per slot: each purpose's event id, as Latin-1 bytes. */
  readonly b: Uint8Array
  readonly latin1: ((start: number, end: number) => string) | null
}

/**
 * Answers every decision the kit makes from the cache, for one subject: what `Decision.decide`
 * would answer on the subject's full state, without building that state.
 */
export interface Decider {
  readonly decide: (purpose: string, now: number, options?: Decision.DecideOptions) => Decision.Decision
}

/**
 * The decision cache: per tenant and subject a slot in typed-array slabs holding, for each
 * purpose of the policy (by its index), the status, the GPC / guardian bits, the notice version,
 * the expiry and the event id of its standing, and for the subject its version (seq, or +∞ for
 * an erasure), TTL, jurisdiction (interned) and age. A decision is rebuilt from the slot exactly
 * as `Decision.decide` makes it from the whole state. A state the slot cannot hold (a standing on
 * one channel, a purpose the policy lacks, an event id longer than 40 Latin-1 characters, a
 * fractional notice version) is kept whole beside its slot and decided with `Decision.decide`.
 */
export class DecisionCache {
  private readonly tenants = new Map<string, Map<string, number>>()
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

  private readonly chunks: Array<Chunk> = []
  private readonly free: Array<number> = []
  private nextSlot = 0
  /** States kept whole, by slot (those the slab cannot hold). */
  private readonly whole = new Map<number, SubjectState>()
  private readonly index = new Map<string, number>()
  private readonly infos: ReadonlyArray<PurposeInfo>
  private readonly jurisdictions: Array<string> = []
  private readonly jurisdictionCodes = new Map<string, number>()
  private readonly fStride: number
  private readonly iStride: number
  private readonly bStride: number

  constructor(
    private readonly policy: Policy.Policy,
    private readonly ttlMs: number,
    private readonly maxSubjects: number,
  ) {
    policy.purposeIds.forEach((id, k) => {
      this.index.set(id, k)
    })
    this.infos = policy.purposeIds.map((id) => {
      const purpose = policy.purposes.get(id)!
      return { purpose, ancestors: purpose.ancestors.map((a) => this.index.get(a) ?? -1) }
    })
    const n = policy.purposeIds.length
    this.fStride = 3 + n
    this.iStride = 2 + 3 * n
    this.bStride = EVENT_ID_BYTES * n
  }

  /** Whether a subject is cached and trusted: undefined on a miss, "empty" for no state (none read, or erased). */
  peek(tenant: string, subject: string, now: number): "held" | "empty" | undefined {
    const slot = this.hit(tenant, subject, now)
    if (slot < 0) return undefined
    const kind = this.chunks[slot >> CHUNK_BITS]!.i[(slot & CHUNK_MASK) * this.iStride]!
    return kind === NONE ? "empty" : "held"
  }

  /** The decision from the cache alone; undefined on a miss. */
  decide(tenant: string, subject: string, purpose: string, now: number): Decision.Decision | undefined {
    const slot = this.hit(tenant, subject, now)
    return slot < 0 ? undefined : this.decideSlot(slot, purpose, now, undefined)
  }

  /**
   * Calls `f` at once with a decider over the cached subject, or returns undefined on a miss.
   * The decider is only valid inside `f` (the slot may be reused after it).
   */
  withCached<A>(tenant: string, subject: string, now: number, f: (d: Decider) => A): A | undefined {
    const slot = this.hit(tenant, subject, now)
    if (slot < 0) return undefined
    return f({ decide: (purpose, at, options) => this.decideSlot(slot, purpose, at, options) })
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
    if (source === "read" && current !== undefined) {
      const chunk = this.chunks[current >> CHUNK_BITS]!
      const base = (current & CHUNK_MASK) * this.fStride
      if (chunk.f[base + 1]! > now && chunk.f[base]! > (state?.seq ?? 0)) return
    }
    if (source === "read" && this.observedAfter(tenant, subject, state?.seq ?? 0, now)) return
    if (current !== undefined) {
      subjects.delete(subject)
      this.release(current)
      this.size--
    }
    const version = source === "erase" ? Number.POSITIVE_INFINITY : (state?.seq ?? 0)
    const slot = this.allocate()
    this.write(slot, state, version, now + this.ttlMs)
    subjects.set(subject, slot)
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
    const slot = this.tenants.get(tenant)?.get(subject)
    if (slot === undefined) return
    const held = this.version(slot)
    const stale = kind === "erase" ? held !== Number.POSITIVE_INFINITY : held < seq
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
    for (const [subject, slot] of subjects) {
      if (this.version(slot) !== Number.POSITIVE_INFINITY) this.delete(tenant, subject)
    }
  }

  /** Forgets every subject (after the change feed was lost for longer than it keeps entries). */
  clear(): void {
    this.tenants.clear()
    this.whole.clear()
    this.free.length = 0
    this.nextSlot = 0
    this.size = 0
  }

  /** Forgets a subject. */
  delete(tenant: string, subject: string): void {
    const subjects = this.tenants.get(tenant)
    const slot = subjects?.get(subject)
    if (subjects && slot !== undefined) {
      subjects.delete(subject)
      this.release(slot)
      this.size--
      if (subjects.size === 0) this.tenants.delete(tenant)
    }
  }

  /** The slot of a trusted, fresh entry, or -1. */
  private hit(tenant: string, subject: string, now: number): number {
    const slot = this.tenants.get(tenant)?.get(subject)
    if (slot === undefined || now >= this.trustedUntil) return -1
    const until = this.chunks[slot >> CHUNK_BITS]!.f[(slot & CHUNK_MASK) * this.fStride + 1]!
    return until > now ? slot : -1
  }

  private version(slot: number): number {
    return this.chunks[slot >> CHUNK_BITS]!.f[(slot & CHUNK_MASK) * this.fStride]!
  }

  private allocate(): number {
    const reused = this.free.pop()
    if (reused !== undefined) return reused
    const slot = this.nextSlot++
    if (slot >> CHUNK_BITS >= this.chunks.length) {
      const f = new Float64Array(CHUNK * this.fStride)
      const i = new Int32Array(CHUNK * this.iStride)
      const b = new Uint8Array(CHUNK * this.bStride)
      const B = (globalThis as { Buffer?: { from: (a: ArrayBuffer) => { latin1Slice?: unknown } } }).Buffer
      const view = B ? (B.from(b.buffer) as { latin1Slice?: (s: number, e: number) => string }) : null
      const latin1 = view && typeof view.latin1Slice === "function" ? view.latin1Slice.bind(view) : null
      this.chunks.push({ f, i, b, latin1 })
    }
    return slot
  }

  private release(slot: number): void {
    this.whole.delete(slot)
    this.free.push(slot)
  }

  /** Packs a state into a slot, or keeps it whole beside the slot when the slot cannot hold it. */
  private write(slot: number, state: SubjectState | null, version: number, until: number): void {
    const chunk = this.chunks[slot >> CHUNK_BITS]!
    const s = slot & CHUNK_MASK
    const fBase = s * this.fStride
    const iBase = s * this.iStride
    const bBase = s * this.bStride
    const n = this.infos.length
    chunk.f[fBase] = version
    chunk.f[fBase + 1] = until
    chunk.f[fBase + 2] = state?.age ?? Number.NaN
    chunk.i[iBase] = NONE
    chunk.i[iBase + 1] = -1
    for (let k = 0; k < n; k++) {
      chunk.i[iBase + 2 + 3 * k] = 0
      chunk.f[fBase + 3 + k] = Number.NaN
    }
    if (state === null) return
    if (this.pack(chunk, fBase, iBase, bBase, state)) chunk.i[iBase] = PACKED
    else {
      chunk.i[iBase] = WHOLE
      this.whole.set(slot, state)
    }
  }

  private pack(chunk: Chunk, fBase: number, iBase: number, bBase: number, state: SubjectState): boolean {
    if (state.age !== null && Number.isNaN(state.age)) return false
    if (state.jurisdiction !== null) {
      let code = this.jurisdictionCodes.get(state.jurisdiction)
      if (code === undefined) {
        if (this.jurisdictions.length >= MAX_JURISDICTIONS) return false
        code = this.jurisdictions.length
        this.jurisdictions.push(state.jurisdiction)
        this.jurisdictionCodes.set(state.jurisdiction, code)
      }
      chunk.i[iBase + 1] = code
    }
    for (const [key, p] of state.purposes) {
      const k = this.index.get(key)
      if (k === undefined || p.channel !== undefined || p.purpose !== key) return false
      const v = p.noticeVersion
      if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) return false
      const id = p.eventId
      if (id.length > EVENT_ID_BYTES) return false
      const at = bBase + EVENT_ID_BYTES * k
      for (let c = 0; c < id.length; c++) {
        const code = id.charCodeAt(c)
        if (code > 0xff) return false
        chunk.b[at + c] = code
      }
      const status = STATUSES.indexOf(p.status)
      if (status < 0) return false
      const expires = p.expiresAt === null ? Number.NaN : p.expiresAt.getTime()
      if (p.expiresAt !== null && Number.isNaN(expires)) return false
      chunk.i[iBase + 2 + 3 * k] =
        PRESENT |
        (status << STATUS_SHIFT) |
        (p.source === "gpc" ? GPC : 0) |
        (p.actor === "guardian" ? GUARDIAN_ACTOR : 0) |
        (p.guardianGranted ? GUARDIAN_GRANTED : 0)
      chunk.i[iBase + 3 + 3 * k] = v
      chunk.i[iBase + 4 + 3 * k] = id.length
      chunk.f[fBase + 3 + k] = expires
    }
    return true
  }

  /** `Decision.decide` over the slot's state. */
  private decideSlot(
    slot: number,
    purposeId: string,
    now: number,
    options: Decision.DecideOptions | undefined,
  ): Decision.Decision {
    const chunk = this.chunks[slot >> CHUNK_BITS]!
    const s = slot & CHUNK_MASK
    const fBase = s * this.fStride
    const iBase = s * this.iStride
    if (chunk.i[iBase] === WHOLE)
      return Decision.decide(this.policy, this.whole.get(slot), purposeId, now, options)
    const k = this.index.get(purposeId)
    if (k === undefined) return made(purposeId, false, "no_consent", null, null)
    const info = this.infos[k]!
    const purpose = info.purpose
    const id = purpose.id
    const basis = purpose.lawfulBasis
    if (basis !== "consent" && basis !== "legitimate_interest")
      return made(id, true, "not_required", null, null)
    const ints = chunk.i
    for (const a of info.ancestors) {
      if (a < 0) continue
      const flags = ints[iBase + 2 + 3 * a]!
      if (flags & PRESENT && (flags & STATUS_MASK) !== 0) {
        return this.made(chunk, s, a, id, false, flags & GPC ? "gpc_opt_out" : "parent_withdrawn")
      }
    }
    const flags = ints[iBase + 2 + 3 * k]!
    const code = ints[iBase + 1]!
    const jurisdiction =
      options?.jurisdiction ?? (code >= 0 ? this.jurisdictions[code]! : this.policy.defaultJurisdiction)
    if (!(flags & PRESENT)) {
      if (basis === "legitimate_interest") return made(id, true, "not_required", null, null)
      return Policy.defaultMode(this.policy, purpose, jurisdiction) === "opt-out"
        ? made(id, true, "opt_out_default", null, null)
        : made(id, false, "no_consent", null, null)
    }
    const status = (flags & STATUS_MASK) >> STATUS_SHIFT
    if (status !== 0) {
      return this.made(
        chunk,
        s,
        k,
        id,
        false,
        flags & GPC ? "gpc_opt_out" : status === 1 ? "denied" : "withdrawn",
      )
    }
    if (basis === "legitimate_interest") return this.made(chunk, s, k, id, true, "not_required")
    const expires = chunk.f[fBase + 3 + k]!
    if (expires <= now) return this.made(chunk, s, k, id, false, "expired")
    if (Policy.isOutdated(purpose, ints[iBase + 3 + 3 * k]!, now)) {
      return this.made(chunk, s, k, id, false, "outdated_version")
    }
    const age = chunk.f[fBase + 2]!
    if (purpose.guardian && !Number.isNaN(age)) {
      const rule = Policy.guardianRule(this.policy, jurisdiction, age)
      if (rule?.rule === "guardian-only" && !(flags & GUARDIAN_ACTOR)) {
        return this.made(chunk, s, k, id, false, "guardian_required")
      }
      if (rule?.rule === "guardian-also" && !(flags & GUARDIAN_GRANTED)) {
        return this.made(chunk, s, k, id, false, "guardian_required")
      }
    }
    return this.made(chunk, s, k, id, true, "granted")
  }

  /** A decision resting on the standing of purpose `k` of the slot. */
  private made(
    chunk: Chunk,
    s: number,
    k: number,
    purpose: string,
    allowed: boolean,
    reason: Decision.Reason,
  ): Decision.Decision {
    const iBase = s * this.iStride
    const start = s * this.bStride + EVENT_ID_BYTES * k
    const end = start + chunk.i[iBase + 4 + 3 * k]!
    const eventId = chunk.latin1 ? chunk.latin1(start, end) : fromLatin1(chunk.b, start, end)
    return made(purpose, allowed, reason, eventId, chunk.i[iBase + 3 + 3 * k]!)
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
      const oldest = subjects.entries().next()
      if (!oldest.done) {
        subjects.delete(oldest.value[0])
        this.release(oldest.value[1])
        this.size--
        if (subjects.size === 0) this.tenants.delete(tenant)
        return
      }
    }
  }
}

const made = (
  purpose: string,
  allowed: boolean,
  reason: Decision.Reason,
  eventId: string | null,
  noticeVersion: number | null,
): Decision.Decision => ({
  purpose,
  allowed,
  reason,
  eventId,
  noticeVersion,
  dpv: Decision.dpvStatus(reason),
})

const fromLatin1 = (bytes: Uint8Array, start: number, end: number): string => {
  let out = ""
  for (let c = start; c < end; c++) out += String.fromCharCode(bytes[c]!)
  return out
}
