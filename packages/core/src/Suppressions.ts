/**
 * One ordered suppression list: per tenant and subject, which purposes are suppressed (`*` for
 * all, after an erasure). Each `suppress` / `resume` carries a sequence number, and an event never
 * overrides a newer one for the same purpose, whatever order they arrive in: an old `suppress`
 * replayed after a newer `resume` leaves the purpose resumed.
 *
 * @since 0.2.0
 */
import type * as Decision from "./Decision.js"

/** Every purpose (an erasure). */
export const ALL = "*"

interface Entry {
  readonly seq: number
  /** The refusal reason while suppressed; undefined once resumed (kept as a tombstone for ordering). */
  readonly reason: Decision.Reason | undefined
}

/** A suppression list. */
export interface Suppressions {
  /** Suppresses a purpose (or `*`) at `seq`; ignored when a newer event for it is already known. Returns whether it applied. */
  readonly suppress: (
    tenant: string,
    subject: string,
    purpose: string,
    seq: number,
    reason: Decision.Reason,
  ) => boolean
  /**
   * Resumes a purpose at `seq` (and lifts `*`, as a grant after an erasure does); ignored when a
   * newer event for it is already known. Returns whether it applied.
   */
  readonly resume: (tenant: string, subject: string, purpose: string, seq: number) => boolean
  /** Why a purpose is refused: `*`, the purpose itself or an ancestor (`marketing` refuses `marketing.email`); with no purpose, any suppression. */
  readonly refusal: (tenant: string, subject: string, purpose?: string) => Decision.Reason | undefined
  /** Purposes currently suppressed for a subject. */
  readonly purposes: (tenant: string, subject: string) => ReadonlyArray<string>
  /** How many subjects it holds (suppressed or remembered as resumed). */
  readonly size: () => number
}

/** Options: most subjects kept (default 100,000); past it the oldest go. */
export interface Options {
  readonly maxEntries?: number
}

/** Creates an empty list. */
export const make = (options: Options = {}): Suppressions => {
  const maxEntries = options.maxEntries ?? 100_000
  const subjects = new Map<string, Map<string, Entry>>()
  const keyOf = (tenant: string, subject: string) => `${tenant}\u0000${subject}`

  const entries = (tenant: string, subject: string) => {
    const key = keyOf(tenant, subject)
    let found = subjects.get(key)
    if (!found) {
      found = new Map()
      subjects.set(key, found)
      if (subjects.size > maxEntries) {
        const oldest = subjects.keys().next()
        if (!oldest.done) subjects.delete(oldest.value)
      }
    }
    return found
  }

  const set = (tenant: string, subject: string, purpose: string, entry: Entry): boolean => {
    const found = entries(tenant, subject)
    const current = found.get(purpose)
    if (current && current.seq > entry.seq) return false
    found.set(purpose, entry)
    return true
  }

  const active = (found: Map<string, Entry> | undefined, purpose: string) => found?.get(purpose)?.reason

  return {
    suppress: (tenant, subject, purpose, seq, reason) => set(tenant, subject, purpose, { seq, reason }),
    resume: (tenant, subject, purpose, seq) => {
      const applied = set(tenant, subject, purpose, { seq, reason: undefined })
      // A grant after an erasure lifts the erasure's `*`, unless that erasure is newer.
      const all = subjects.get(keyOf(tenant, subject))?.get(ALL)
      if (purpose !== ALL && all && all.seq <= seq) set(tenant, subject, ALL, { seq, reason: undefined })
      return applied
    },
    refusal: (tenant, subject, purpose) => {
      const found = subjects.get(keyOf(tenant, subject))
      if (!found) return undefined
      let reason = active(found, ALL)
      if (reason === undefined && purpose === undefined) {
        for (const entry of found.values()) if (entry.reason !== undefined) return entry.reason
      }
      for (let p = purpose; reason === undefined && p !== undefined; ) {
        reason = active(found, p)
        p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : undefined
      }
      return reason
    },
    purposes: (tenant, subject) => {
      const found = subjects.get(keyOf(tenant, subject))
      return found ? [...found].filter(([, e]) => e.reason !== undefined).map(([p]) => p) : []
    },
    size: () => subjects.size,
  }
}
