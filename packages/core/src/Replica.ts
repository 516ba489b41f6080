/**
 * A replica: a service's local copy of consent, kept current from the bus's `consent.changed`
 * and `subject.erase` intents, so a service that only reads consent decides without the store.
 * Subjects it has not seen decide as having no events (opt-in purposes refused).
 *
 * @since 0.1.0
 */
import * as Decision from "./Decision.js"
import type { Intent } from "./Intent.js"
import * as Policy from "./Policy.js"
import * as State from "./State.js"
import * as Suppressions from "./Suppressions.js"

/** A local, in-memory copy of consent state. */
export interface Replica {
  /** Applies one intent from the bus; older snapshots (lower seq) never overwrite newer ones. */
  readonly apply: (intent: Intent) => void
  /** Decides from the local copy, without I/O. */
  readonly decide: (tenant: string, subject: string, purpose: string, now?: number) => Decision.Decision
  /** The tracker gate on the local copy: a purpose, or every purpose of a tracker category. */
  readonly track: (request: {
    tenant: string
    subject: string
    purpose?: string
    category?: string
  }) => Decision.Decision
  /** The messenger gate on the local copy. */
  readonly send: (request: {
    tenant: string
    subject: string
    channel: string
    purpose?: string
  }) => Decision.Decision
  /** How many subjects it holds. */
  readonly size: () => number
}

/** Options of a replica. */
export interface Options {
  /** The ordered suppression list it keeps (default a new one); share it with the gates of the same service. */
  readonly suppressions?: Suppressions.Suppressions
}

/** Creates an empty replica for a policy. */
export const make = (policy: Policy.Policy, options: Options = {}): Replica => {
  const states = new Map<string, State.SubjectState>()
  // The one ordered list: it knows when each subject was erased, so a replayed older snapshot stays out.
  const suppressions = options.suppressions ?? Suppressions.make()
  const key = (tenant: string, subject: string) => `${tenant}\u0000${subject}`

  // The state decides; the list refuses on top (an erased subject stays stopped until it grants again).
  const decideOn = (
    tenant: string,
    subject: string,
    purpose: string,
    now: number,
    channel: string | undefined,
  ): Decision.Decision => {
    const options = channel !== undefined ? { channel } : undefined
    const decision = Decision.decide(policy, states.get(key(tenant, subject)), purpose, now, options)
    const refused = decision.allowed ? suppressions.refusal(tenant, subject, purpose, channel) : undefined
    return refused === undefined ? decision : { ...decision, allowed: false, reason: refused }
  }
  const decide = (tenant: string, subject: string, purpose: string, now = Date.now()): Decision.Decision =>
    decideOn(tenant, subject, purpose, now, undefined)

  const every = (
    tenant: string,
    subject: string,
    purposes: ReadonlyArray<string>,
    what: string,
    channel?: string,
  ) => {
    const now = Date.now()
    if (purposes.length === 0) return Decision.decide(policy, undefined, what, now)
    let last: Decision.Decision | undefined
    for (const p of purposes) {
      last = decideOn(tenant, subject, p, now, channel)
      if (!last.allowed) return last
    }
    return last!
  }

  return {
    apply: (intent) => {
      const k = key(intent.tenant, intent.subject)
      if (intent.kind === "subject.erase") {
        if (suppressions.apply(intent)) states.delete(k)
        return
      }
      if (suppressions.predatesErasure(intent.tenant, intent.subject, intent.createdAt.getTime())) return
      suppressions.apply(intent)
      if (intent.kind !== "consent.changed" || !intent.snapshot) return
      const current = states.get(k)
      if (current && current.seq >= intent.snapshot.seq) return
      states.set(k, State.fromJson(intent.snapshot))
    },
    decide,
    track: (r) =>
      every(
        r.tenant,
        r.subject,
        r.purpose !== undefined ? [r.purpose] : Policy.purposesForCategory(policy, r.category ?? ""),
        r.purpose ?? r.category ?? "",
      ),
    send: (r) =>
      every(
        r.tenant,
        r.subject,
        r.purpose !== undefined ? [r.purpose] : Policy.purposesForChannel(policy, r.channel),
        r.purpose ?? r.channel,
        r.channel,
      ),
    size: () => states.size,
  }
}
