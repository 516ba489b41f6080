/**
 * One ordered suppression list: per tenant and subject, which purposes are suppressed (`*` for
 * all, after an erasure). The messenger gate, the tracker gate and a replica all keep this one
 * list (and can share one instance), so they agree on what is stopped.
 *
 * Ordering: every intent carries the subject's ledger position (`seq`) and its time. Within one
 * subject's history the sequence decides and an older event never overrides a newer one, whatever
 * order they arrive in: an old `suppress` replayed after a newer `resume` leaves the purpose
 * resumed. An erasure starts the subject over (its ledger position starts again at 1), so it is
 * ordered by time: events from before it are ignored, a grant after it lifts it.
 *
 * @since 0.2.0
 */
import type * as Decision from "./Decision.js"
import type * as Intent from "./Intent.js"

const entryKey = (purpose: string, channel: string | undefined): string =>
  channel === undefined ? purpose : `${purpose}#${channel}`

/** Every purpose (an erasure). */
export const ALL = "*"

/** Where an event stands: the subject's ledger position, and its time (milliseconds). */
export interface Order {
  readonly seq: number
  readonly at: number
}

/** The order of an intent. */
export const orderOf = (intent: Intent.Intent): Order => ({ seq: intent.seq, at: intent.createdAt.getTime() })

/** Whether `a` comes after `b`: by sequence, then by time (events of one commit share a sequence). */
export const isAfter = (a: Order, b: Order): boolean => a.seq > b.seq || (a.seq === b.seq && a.at > b.at)

interface Entry {
  readonly order: Order
  /** The refusal reason while suppressed; undefined once resumed (kept as a tombstone for ordering). */
  readonly reason: Decision.Reason | undefined
}

interface Subject {
  /** Per purpose, the newest event applied. */
  readonly purposes: Map<string, Entry>
  /** The newest erasure: its time, and whether a later grant lifted it. */
  erasure: { readonly at: number; lifted: boolean } | undefined
}

/** A suppression list. */
export interface Suppressions {
  /** Suppresses a purpose at `order`; ignored when a newer event for it, or a later erasure, is known. Returns whether it applied. */
  readonly suppress: (
    tenant: string,
    subject: string,
    purpose: string,
    order: Order,
    reason: Decision.Reason,
  ) => boolean
  /**
   * Resumes a purpose at `order` (and lifts an earlier erasure, as a grant after one does); ignored
   * when a newer event for it, or a later erasure, is known. Returns whether it applied.
   */
  readonly resume: (tenant: string, subject: string, purpose: string, order: Order) => boolean
  /** Suppresses every purpose of a subject erased at `at`, forgetting what came before; a replayed older erasure is ignored. */
  readonly erase: (tenant: string, subject: string, at: number) => boolean
  /** Applies an intent: stop/suppress, resume, erase, or each change of `consent.changed`. Returns whether anything applied. */
  readonly apply: (intent: Intent.Intent) => boolean
  /** Whether an event at `at` comes from before the subject's latest erasure (and so must be ignored). */
  readonly predatesErasure: (tenant: string, subject: string, at: number) => boolean
  /**
   * Why a purpose is refused: `*`, the purpose itself or an ancestor (`marketing` refuses
   * `marketing.email`); with no purpose, any suppression. With a channel, a suppression of the
   * purpose (or an ancestor) on that channel alone refuses too; one on another channel does not.
   */
  readonly refusal: (
    tenant: string,
    subject: string,
    purpose?: string,
    channel?: string,
  ) => Decision.Reason | undefined
  /** Purposes currently suppressed for a subject (`*` after an erasure). */
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
  const subjects = new Map<string, Subject>()
  const keyOf = (tenant: string, subject: string) => `${tenant}\u0000${subject}`

  const subjectOf = (tenant: string, subject: string): Subject => {
    const key = keyOf(tenant, subject)
    let found = subjects.get(key)
    if (!found) {
      found = { purposes: new Map(), erasure: undefined }
      subjects.set(key, found)
      if (subjects.size > maxEntries) {
        const oldest = subjects.keys().next()
        if (!oldest.done) subjects.delete(oldest.value)
      }
    }
    return found
  }

  const predates = (found: Subject | undefined, at: number) =>
    found?.erasure !== undefined && at < found.erasure.at

  const set = (tenant: string, subject: string, purpose: string, entry: Entry): boolean => {
    const found = subjectOf(tenant, subject)
    if (predates(found, entry.order.at)) return false
    const current = found.purposes.get(purpose)
    if (current && isAfter(current.order, entry.order)) return false
    found.purposes.set(purpose, entry)
    return true
  }

  const suppress: Suppressions["suppress"] = (tenant, subject, purpose, order, reason) =>
    set(tenant, subject, purpose, { order, reason })

  const resume: Suppressions["resume"] = (tenant, subject, purpose, order) => {
    const applied = set(tenant, subject, purpose, { order, reason: undefined })
    const erasure = subjects.get(keyOf(tenant, subject))?.erasure
    if (applied && erasure) erasure.lifted = true
    return applied
  }

  const erase: Suppressions["erase"] = (tenant, subject, at) => {
    const found = subjectOf(tenant, subject)
    if (found.erasure && found.erasure.at >= at) return false
    found.purposes.clear()
    found.erasure = { at, lifted: false }
    return true
  }

  return {
    suppress,
    resume,
    erase,
    apply: (intent) => {
      const order = orderOf(intent)
      const { tenant, subject } = intent
      // A change on one channel of a purpose is kept under `purpose#channel`, beside the purpose's own.
      const key = intent.purpose === null ? null : entryKey(intent.purpose, intent.channel)
      switch (intent.kind) {
        case "subject.erase":
          return erase(tenant, subject, order.at)
        case "tracking.stop":
        case "messaging.suppress":
          return key !== null && suppress(tenant, subject, key, order, intent.reason ?? "withdrawn")
        case "tracking.resume":
        case "messaging.resume":
          return key !== null && resume(tenant, subject, key, order)
        case "consent.changed": {
          let applied = false
          for (const change of intent.changes) {
            const changed = entryKey(change.purpose, change.channel)
            const done = change.allowed
              ? resume(tenant, subject, changed, order)
              : suppress(tenant, subject, changed, order, change.reason)
            applied = applied || done
          }
          return applied
        }
      }
    },
    predatesErasure: (tenant, subject, at) => predates(subjects.get(keyOf(tenant, subject)), at),
    refusal: (tenant, subject, purpose, channel) => {
      const found = subjects.get(keyOf(tenant, subject))
      if (!found) return undefined
      if (found.erasure && !found.erasure.lifted) return "no_consent"
      if (purpose === undefined) {
        for (const [key, entry] of found.purposes) {
          if (entry.reason === undefined) continue
          const at = key.indexOf("#")
          if (at < 0 || (channel !== undefined && key.slice(at + 1) === channel)) return entry.reason
        }
        return undefined
      }
      for (let p: string | undefined = purpose; p !== undefined; ) {
        const reason =
          found.purposes.get(p)?.reason ??
          (channel !== undefined ? found.purposes.get(entryKey(p, channel))?.reason : undefined)
        if (reason !== undefined) return reason
        p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : undefined
      }
      return undefined
    },
    purposes: (tenant, subject) => {
      const found = subjects.get(keyOf(tenant, subject))
      if (!found) return []
      const suppressed = [...found.purposes].filter(([, e]) => e.reason !== undefined).map(([p]) => p)
      return found.erasure && !found.erasure.lifted ? [...suppressed, ALL] : suppressed
    },
    size: () => subjects.size,
  }
}
