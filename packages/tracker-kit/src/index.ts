/**
 * @consentkit/tracker-kit: the consent gate every tracker adapter shares. It asks the kit's
 * tracker gate about each event, keeps a local stop list fed by `tracking.stop` / `tracking.resume`
 * intents (so a stale decision cache elsewhere cannot leak an event), counts what it drops, and
 * turns `subject.erase` into one call to the provider's deletion API.
 *
 * @since 0.1.0
 */
import {
  type Adapter,
  type AdapterDescriptor,
  AdapterError,
  type Decision,
  Gatekeeper,
  type Intent,
  type Policy,
  Suppressions,
  Tracker,
} from "@consentkit/core"

/**
 * What the tracker gate asks the kit: a `Gatekeeper` (or a `createConsentKit` client of any policy;
 * method syntax keeps a client typed by its purpose ids assignable).
 */
export interface GateKit {
  readonly gate: {
    track(request: {
      readonly tenant: string
      readonly subject: string
      readonly purpose?: string
    }): Promise<Decision.Decision>
  }
  /** The kit's policy (a `Gatekeeper` has it): which purposes the tracker's categories serve. */
  readonly policy?: Policy.Policy
}

/** Why an event was dropped: the decision's reason, or `stopped` when the local stop list refused it first. */
export type DropReason = Decision.Reason | "stopped"

/** What the gate says about one event. */
export type Verdict =
  | { readonly allowed: true; readonly decision: Decision.Decision }
  | { readonly allowed: false; readonly reason: DropReason; readonly decision: Decision.Decision | null }

/** Counters of what passed and what was dropped. */
export interface Stats {
  readonly sent: number
  readonly dropped: number
  /** Dropped events per reason. */
  readonly droppedBy: Readonly<Record<string, number>>
}

/** Whom a `subject.erase` intent names, with every identifier the provider may know them by. */
export interface Erasure {
  readonly tenant: string
  readonly subject: string
  /** The subject id first, then the alias values whose kind the provider uses. */
  readonly identifiers: ReadonlyArray<string>
  readonly aliases: ReadonlyArray<Intent.Alias>
  readonly erasureId: string | null
  readonly intent: Intent.Intent
}

/** How a tracker adapter configures its gate. */
export interface GateOptions {
  /** Adapter name, unique within the kit (outbox rows are keyed by it). */
  readonly name: string
  /** Tracker categories whose intents it receives; empty = all. */
  readonly categories?: ReadonlyArray<string>
  /** The kit to ask; `defineTracker` supplies it when the kit builds the adapter. */
  readonly kit: GateKit
  /** Deletes the subject at the provider; must resolve only when the provider accepted the request. */
  readonly erase: (erasure: Erasure) => Promise<void>
  /** Tells the provider a purpose stopped, where it has a notion of it (optional); gets the gate's kit. */
  readonly stopped?: (intent: Intent.Intent, kit: GateKit) => Promise<void>
  /** Tells the provider a purpose resumed (optional); gets the gate's kit. */
  readonly resumed?: (intent: Intent.Intent, kit: GateKit) => Promise<void>
  /** Alias kinds the provider knows subjects by (e.g. `anonymous`); default every alias. */
  readonly aliasKinds?: ReadonlyArray<string>
  /** Most stop-list subjects kept (default 100,000); past it the oldest go and the kit's gate alone decides. */
  readonly maxEntries?: number
  /** The stop list to keep (default a new one); share one with the messenger gates and a replica. */
  readonly suppressions?: Suppressions.Suppressions
  /** The adapter's role (default `tracker`; the brand's own customer-data tables are `cdp`). */
  readonly role?: Adapter.Role
  /**
   * Also feed the stop list from `consent.changed`, which lists every purpose whose decision
   * flipped, including purposes that govern no tracker category (and so send no tracking intents).
   */
  readonly followChanges?: boolean
}

/** The gate and its adapter. */
export interface TrackerGate {
  /** The adapter to pass to `createConsentKit({ trackers: [...] })`. */
  readonly adapter: Adapter.Adapter
  /** Decides one event: the local stop list first, then the kit's tracker gate. Counts a drop. */
  readonly check: (event: {
    readonly tenant: string
    readonly subject: string
    readonly purpose: string
  }) => Promise<Verdict>
  /** Counts events handed to the provider's SDK. */
  readonly sent: (count?: number) => void
  readonly stats: () => Stats
  /** Whether the local stop list refuses a purpose (or an ancestor, or the whole subject after erasure). */
  readonly isStopped: (tenant: string, subject: string, purpose: string) => boolean
}

/** Builds a tracker gate and the adapter that feeds its stop list. */
export const makeGate = (options: GateOptions): TrackerGate => {
  const kit = options.kit
  const maxEntries = options.maxEntries ?? 100_000
  // Ordered by each intent's ledger position, so a redelivered older intent never overrides a newer one.
  const stops = options.suppressions ?? Suppressions.make({ maxEntries })
  const erased = new Set<string>()
  let sent = 0
  let dropped = 0
  const droppedBy: Record<string, number> = {}

  const isStopped = (tenant: string, subject: string, purpose: string): boolean =>
    stops.refusal(tenant, subject, purpose) !== undefined

  const drop = (reason: DropReason, decision: Decision.Decision | null): Verdict => {
    dropped++
    droppedBy[reason] = (droppedBy[reason] ?? 0) + 1
    return { allowed: false, reason, decision }
  }

  const tracker = Tracker.make({
    name: options.name,
    categories: options.categories ?? [],
    changed: options.followChanges
      ? async (intent) => {
          stops.apply(intent)
        }
      : undefined,
    stop: async (intent) => {
      if (intent.purpose === null) return
      // The local stop applies before the provider call, so collection stops even while the provider is down.
      stops.apply(intent)
      await options.stopped?.(intent, kit)
    },
    resume: async (intent) => {
      if (intent.purpose === null) return
      stops.apply(intent)
      await options.resumed?.(intent, kit)
    },
    erase: async (intent) => {
      stops.apply(intent)
      // Redelivery after a crash must not ask the provider twice for the same request.
      if (erased.has(intent.id)) return
      const kinds = options.aliasKinds
      const aliases = intent.aliases.filter((a) => !kinds || kinds.includes(a.kind))
      const identifiers = [...new Set([intent.subject, ...aliases.map((a) => a.value)])]
      await options.erase({
        tenant: intent.tenant,
        subject: intent.subject,
        identifiers,
        aliases,
        erasureId: intent.erasureId,
        intent,
      })
      erased.add(intent.id)
      if (erased.size > maxEntries) erased.delete(erased.values().next().value!)
    },
  })

  const adapter: Adapter.Adapter =
    options.role && options.role !== "tracker" ? { ...tracker, role: options.role } : tracker

  return {
    adapter,
    check: async ({ tenant, subject, purpose }) => {
      if (isStopped(tenant, subject, purpose)) return drop("stopped", null)
      const decision = await kit.gate.track({ tenant, subject, purpose })
      return decision.allowed ? { allowed: true, decision } : drop(decision.reason, decision)
    },
    sent: (count = 1) => {
      sent += count
    },
    stats: () => ({ sent, dropped, droppedBy: { ...droppedBy } }),
    isStopped,
  }
}

/**
 * Whether every purpose a tracker collects for (the purposes governing its categories; with no
 * categories, every purpose governing any) is refused for the subject now: the point at which a
 * provider whose stop is per user, not per purpose (a Segment suppression), may be told to stop.
 */
export const everyPurposeRefused = async (
  kit: GateKit,
  categories: ReadonlyArray<string> | undefined,
  tenant: string,
  subject: string,
): Promise<boolean> => {
  const policy = kit.policy
  if (!policy) return false
  const purposes = policy.purposeIds.filter((id) => {
    const governed = policy.purposes.get(id)!.trackerCategories
    return categories && categories.length > 0
      ? governed.some((c) => categories.includes(c))
      : governed.length > 0
  })
  for (const purpose of purposes)
    if ((await kit.gate.track({ tenant, subject, purpose })).allowed) return false
  return purposes.length > 0
}

/**
 * Refusals a write flipped to from an allowed decision: a stop was sent for them. A resume from
 * any other (`no_consent` on a first grant) follows no stop, so the provider has nothing to undo.
 */
export const STOPPED_FROM: ReadonlySet<Decision.Reason> = new Set([
  "withdrawn",
  "denied",
  "parent_withdrawn",
  "gpc_opt_out",
])

/** Whether a resume intent follows a stop the provider was told of (intents without `previous` count as yes). */
export const followsStop = (intent: Intent.Intent): boolean =>
  intent.previous === undefined || STOPPED_FROM.has(intent.previous)

/** The kit of the gate that only lends its routing fields: it is never delivered to nor asked. */
const unbuilt = (name: string): GateKit => ({
  gate: {
    track: () => Promise.reject(new Error(`${name}: the routing template of a descriptor cannot decide`)),
  },
})

/**
 * A tracker as a descriptor for `createConsentKit({ trackers: [...] })`: the kit routes its
 * intents by the gate's static fields and calls `api(gate, kit)` once, on the first delivery or on
 * `kit.adapter(descriptor)`, so the provider's SDK client is built only in processes that use it.
 */
export const defineTracker = <Api>(
  options: Omit<GateOptions, "kit">,
  api: (gate: TrackerGate, kit: Gatekeeper.Gatekeeper) => Api,
): AdapterDescriptor<Api> =>
  // The routing fields come from a gate's adapter; it only holds empty lists and is never asked to decide.
  Gatekeeper.describe(makeGate({ ...options, kit: unbuilt(options.name) }).adapter, (kit) => {
    const gate = makeGate({ ...options, kit })
    return { deliver: gate.adapter.deliver, api: api(gate, kit) }
  })

/**
 * Fails a provider call with the status and body it answered, as an `AdapterError` that is
 * retryable for 408, 429 and 5xx (the dispatcher backs off) and final otherwise (a bad token will
 * not fix itself; the row becomes a dead letter an operator can replay).
 */
export const expectOk = async (adapter: string, response: Response, what: string): Promise<void> => {
  if (response.ok) return
  const body = await response.text().catch(() => "")
  const status = response.status
  throw new AdapterError({
    adapter,
    message: `${what} answered ${status} ${response.statusText}${body ? `: ${body.slice(0, 500)}` : ""}`,
    isRetryable: status === 408 || status === 429 || status >= 500,
  })
}
