/**
 * What an adapter gets from the kit: a narrow gatekeeper to decide and to report with, handed to
 * the adapter's `make` when the kit instantiates it. Adapters are registered as descriptors
 * (`createConsentKit({ adapters: [posthog({...})] })`): the kit routes intents by the descriptor's
 * static fields and builds the adapter (and its SDK client) only when it first delivers or when
 * the app asks `kit.adapter(descriptor)`. No mutable kit slot, nothing to forget to bind.
 *
 * @since 0.3.0
 */
import type { Effect } from "effect"
import type { Adapter } from "./Adapter.js"
import type * as Command from "./Command.js"
import type { ConsentKitShape, RecordResult } from "./ConsentKit.js"
import type * as Decision from "./Decision.js"
import type * as Intent from "./Intent.js"
import type * as Policy from "./Policy.js"

/** The calls adapters make on the kit, typed by the policy's purpose ids. */
export interface Gatekeeper<P extends string = string> {
  readonly policy: Policy.Policy<P>
  readonly decide: (
    tenant: string,
    subject: string,
    purpose: P,
    options?: Decision.DecideOptions,
  ) => Promise<Decision.Decision>
  /** Decisions for every purpose of the policy (trackers forward them as the provider's consent state). */
  readonly decisions: (tenant: string, subject: string) => Promise<ReadonlyArray<Decision.Decision>>
  readonly gate: {
    /** May this event be collected? Pass a purpose or a tracker category. */
    readonly track: (request: {
      readonly tenant: string
      readonly subject: string
      readonly purpose?: P
      readonly category?: string
    }) => Promise<Decision.Decision>
    /** May this message be sent on this channel (for this purpose)? */
    readonly send: (request: {
      readonly tenant: string
      readonly subject: string
      readonly channel: string
      readonly purpose?: P
    }) => Promise<Decision.Decision>
    /** Like `send`, but rejects with `ConsentRequired` when refused. */
    readonly assertSend: (request: {
      readonly tenant: string
      readonly subject: string
      readonly channel: string
      readonly purpose?: P
    }) => Promise<Decision.Decision>
  }
  /** Which subject an alias belongs to; null when unknown. */
  readonly resolveAlias: (tenant: string, alias: Intent.Alias) => Promise<string | null>
  /** Records an inbound opt-out (an unsubscribe link, a LINE unfollow, a STOP reply). */
  readonly optOut: (input: Command.OptOutInput & { readonly purpose?: P }) => Promise<RecordResult | null>
  /** Reopens a channel the subject closed alone (a LINE re-follow, an SMS START); never grants a purpose. */
  readonly optIn: (input: Command.OptOutInput & { readonly purpose?: P }) => Promise<RecordResult | null>
  /** Links an alias (a LINE user id, a phone number) to a subject. */
  readonly link: (input: Command.LinkInput) => Promise<RecordResult | null>
  /** Streams the subjects a purpose is allowed for now, page by page. */
  readonly audience: (options: {
    readonly tenant: string
    readonly purpose: P
    /** Only subjects reachable for the purpose on this channel. */
    readonly channel?: string
    readonly pageSize?: number
  }) => AsyncIterable<string>
}

/** What `make` returns: the adapter's delivery function and the API the app calls. */
export interface Instance<Api> {
  readonly deliver: Adapter["deliver"]
  readonly api: Api
}

/** An adapter as registered with the kit: its routing fields, and how to build it with its gate. */
export interface AdapterDescriptor<Api = unknown> extends Omit<Adapter, "deliver"> {
  readonly make: (gate: Gatekeeper) => Instance<Api>
}

/** Whether a registered value is a descriptor (rather than a ready `Adapter`). */
export const isDescriptor = <Api>(value: Adapter | AdapterDescriptor<Api>): value is AdapterDescriptor<Api> =>
  "make" in value && typeof value.make === "function"

/** The routing fields of a built adapter, for a descriptor whose kinds are known only from its handlers. */
export const describe = <Api>(
  spec: Omit<Adapter, "deliver">,
  make: (gate: Gatekeeper) => Instance<Api>,
): AdapterDescriptor<Api> => ({
  name: spec.name,
  role: spec.role,
  kinds: spec.kinds,
  categories: spec.categories,
  channels: spec.channels,
  capabilities: spec.capabilities,
  make,
})

/** Runs an effect of the kit; the Promise API supplies it. */
export type Run = <A, E>(f: (kit: ConsentKitShape) => Effect.Effect<A, E>) => Promise<A>

/**
 * The gatekeeper over a running kit. `cached` answers a warm decision without entering the
 * runtime (the tracker gate asks once per event).
 */
export const fromRuntime = (
  policy: Policy.Policy,
  run: Run,
  cached: (tenant: string, subject: string, purpose: string) => Decision.Decision | undefined = () =>
    undefined,
): Gatekeeper => {
  const hit = (req: { readonly tenant: string; readonly subject: string; readonly purpose?: string }) =>
    req.purpose !== undefined ? cached(req.tenant, req.subject, req.purpose) : undefined
  return {
    policy,
    decide: (tenant, subject, purpose, options) => {
      const d = options === undefined ? cached(tenant, subject, purpose) : undefined
      return d ? Promise.resolve(d) : run((kit) => kit.decide(tenant, subject, purpose, options))
    },
    decisions: (tenant, subject) => run((kit) => kit.decisions(tenant, subject)),
    gate: {
      track: (req) => {
        const d = hit(req)
        return d ? Promise.resolve(d) : run((kit) => kit.gateTrack(req))
      },
      send: (req) => {
        // The cache decides whole purposes: its refusal holds on every channel, but an allowed
        // purpose may still be closed on this channel alone, which the runtime decides.
        const d = hit(req)
        return d && !d.allowed ? Promise.resolve(d) : run((kit) => kit.gateSend(req))
      },
      assertSend: (req) => run((kit) => kit.assertSend(req)),
    },
    resolveAlias: (tenant, alias) => run((kit) => kit.resolveAlias(tenant, alias)),
    optOut: (input) => run((kit) => kit.optOut(input)),
    optIn: (input) => run((kit) => kit.optIn(input)),
    link: (input) => run((kit) => kit.link(input)),
    audience: ({ tenant, purpose, channel, pageSize = 500 }) => ({
      async *[Symbol.asyncIterator]() {
        let after: string | null = null
        do {
          const page: { subjects: ReadonlyArray<string>; next: string | null } = await run((kit) =>
            kit.audiencePage({
              tenant,
              purpose,
              after,
              limit: pageSize,
              ...(channel !== undefined ? { channel } : {}),
            }),
          )
          yield* page.subjects
          after = page.next
        } while (after !== null)
      },
    }),
  }
}
