/**
 * The send gate every messenger adapter shares: the kit's `gate.assertSend` plus a local
 * suppression list fed by `messaging.suppress` / `messaging.resume` / `subject.erase` intents, so
 * a stale decision cache elsewhere cannot leak a message, and handlers that apply each intent once.
 */
import { Data } from "effect"
import type * as Adapter from "./Adapter.js"
import type * as Command from "./Command.js"
import type { RecordResult } from "./ConsentKit.js"
import * as Decision from "./Decision.js"
import { ConsentRequired } from "./Errors.js"
import * as Gatekeeper from "./Gatekeeper.js"
import type * as Intent from "./Intent.js"
import * as Messenger from "./Messenger.js"
import * as Suppressions from "./Suppressions.js"

/**
 * What an inbound opt-out source (an unsubscribe link, a LINE unfollow, a STOP reply, a provider
 * webhook) needs from the kit: any `createConsentKit(...)` client, whatever its purpose ids, or an
 * adapter's `Gatekeeper`. Method syntax on purpose: a client typed by its purposes is assignable.
 */
export interface OptOutKit {
  optOut(input: Command.OptOutInput): Promise<RecordResult | null>
  /** Reopens a channel closed alone (a re-follow); optional, so older kits still fit. */
  optIn?(input: Command.OptOutInput): Promise<RecordResult | null>
  resolveAlias(tenant: string, alias: Intent.Alias): Promise<string | null>
}

/** What a gated send asks: who, on which channel, for which purpose (default every purpose of the channel). */
export interface SendRequest {
  readonly tenant: string
  readonly subject: string
  readonly channel: string
  readonly purpose?: string
}

/** The subject has no address on this channel (the host's recipient lookup returned nothing). */
export class RecipientNotFound extends Data.TaggedError("RecipientNotFound")<{
  readonly message: string
  readonly tenant: string
  readonly subject: string
  readonly channel: string
}> {
  readonly code = "RECIPIENT_NOT_FOUND"
  readonly isRetryable = false
}

/** How a messenger configures its gate. */
export interface GateOptions {
  readonly name: string
  readonly channels: ReadonlyArray<string>
  /** The kit to ask; `defineMessenger` supplies it when the kit builds the messenger. */
  readonly kit: Gatekeeper.Gatekeeper
  /** Reflects a suppression at the provider (runs after the local list already refuses); gets the gate it feeds. */
  readonly suppress?: (intent: Intent.Intent, gate: Gate) => Promise<void>
  /** Lifts it at the provider (the local list refuses until this succeeded). */
  readonly resume?: (intent: Intent.Intent, gate: Gate) => Promise<void>
  /** Deletes the subject at the provider. */
  readonly erase: (intent: Intent.Intent, gate: Gate) => Promise<void>
  /** The suppression list to keep (default a new one); share one with the tracker gate and a replica. */
  readonly suppressions?: Suppressions.Suppressions
  /** Most subjects kept on the local list (default 100,000); past it the oldest go and the kit's gate alone decides. */
  readonly maxEntries?: number
}

/** The gate and its adapter. */
export interface Gate {
  readonly adapter: Adapter.Adapter
  /** The kit's gatekeeper this gate asks (for decisions, audiences and the policy). */
  readonly kit: Gatekeeper.Gatekeeper
  /** Resolves with the kit's decision, or rejects with `ConsentRequired` (from the kit or the local list). */
  readonly assertSend: (request: SendRequest) => Promise<Decision.Decision>
  /** The local list's refusal, if any (no I/O). */
  readonly localRefusal: (request: SendRequest) => ConsentRequired | undefined
  /** Purposes the local list suppresses for a subject (`*` after an erasure). */
  readonly suppressedPurposes: (tenant: string, subject: string) => ReadonlyArray<string>
}

/** @deprecated use `Suppressions.orderOf` (intents carry their ledger position as `seq`). */
export const orderOf = Suppressions.orderOf

/** Builds the gate and the messenger adapter that feeds its local suppression list. */
export const makeGate = (options: GateOptions): Gate => {
  const kit = options.kit
  const maxEntries = options.maxEntries ?? 100_000
  const suppressed = options.suppressions ?? Suppressions.make({ maxEntries })
  const applied = new Set<string>()

  // Each intent id is applied once: a redelivery after a crash changes nothing.
  const once =
    (apply: (intent: Intent.Intent) => Promise<void>): Adapter.Handler =>
    async (intent) => {
      if (applied.has(intent.id)) return
      await apply(intent)
      applied.add(intent.id)
      if (applied.size > maxEntries) {
        const oldest = applied.values().next()
        if (!oldest.done) applied.delete(oldest.value)
      }
    }

  const adapter = Messenger.make({
    name: options.name,
    channels: options.channels,
    suppress: once(async (intent) => {
      suppressed.apply(intent)
      await options.suppress?.(intent, gate)
    }),
    resume: once(async (intent) => {
      await options.resume?.(intent, gate)
      suppressed.apply(intent)
    }),
    erase: once(async (intent) => {
      suppressed.apply(intent)
      await options.erase(intent, gate)
    }),
  })

  const localRefusal = (request: SendRequest): ConsentRequired | undefined => {
    const reason = suppressed.refusal(request.tenant, request.subject, request.purpose, request.channel)
    if (reason === undefined) return undefined
    const decision: Decision.Decision = {
      purpose: request.purpose ?? request.channel,
      allowed: false,
      reason,
      eventId: null,
      noticeVersion: null,
      dpv: Decision.dpvStatus(reason),
    }
    return new ConsentRequired({
      message: `not sent on ${request.channel}: suppressed (${Decision.explain(decision)})`,
      decision,
    })
  }

  const gate: Gate = {
    adapter,
    kit,
    localRefusal,
    suppressedPurposes: (tenant, subject) => suppressed.purposes(tenant, subject),
    assertSend: async (request) => {
      const early = localRefusal(request)
      if (early) throw early
      const decision = await kit.gate.assertSend(request)
      // A suppression may have landed while the kit decided.
      const late = localRefusal(request)
      if (late) throw late
      return decision
    },
  }
  return gate
}

const unused = async () => {}

/**
 * A messenger as a descriptor for `createConsentKit({ messengers: [...] })`: the kit routes its
 * intents by the gate's static fields and calls `api(gate, kit)` once, on the first delivery or on
 * `kit.adapter(descriptor)`, so the provider's SDK client is built only in processes that use it.
 */
export const defineMessenger = <Api>(
  options: Omit<GateOptions, "kit">,
  api: (gate: Gate, kit: Gatekeeper.Gatekeeper) => Api,
): Gatekeeper.AdapterDescriptor<Api> =>
  // The routing fields: the same handler kinds as every gate's adapter, none ever called.
  Gatekeeper.describe(
    Messenger.make({
      name: options.name,
      channels: options.channels,
      suppress: unused,
      resume: unused,
      erase: unused,
    }),
    (kit) => {
      const gate = makeGate({ ...options, kit })
      return { deliver: gate.adapter.deliver, api: api(gate, kit) }
    },
  )
