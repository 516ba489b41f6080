/**
 * @consentkit/adapter-posthog: PostHog behind the consent gate. `capture` and `identify` go to the
 * real `posthog-node` client only when the subject allows the event's purpose; a withdrawal stops
 * them at once; `subject.erase` deletes the person and their events through PostHog's
 * `persons/bulk_delete` API.
 *
 * @since 0.1.0
 */
import type { AdapterDescriptor } from "@consentkit/core"
import {
  defineTracker,
  everyPurposeRefused,
  expectOk,
  followsStop,
  type GateKit,
  type GateOptions,
  type Stats,
  type Verdict,
} from "@consentkit/tracker-kit"
import type { EventMessage, IdentifyMessage, PostHog } from "posthog-node"

export type { Stats, Verdict } from "@consentkit/tracker-kit"

/** How PostHog erases a person: the private API (not the capture host) and a personal API key with `person:write`. */
export interface PostHogDeletion {
  /** The project id (a number in the PostHog URL). */
  readonly projectId: string | number
  /** A personal API key, or a function returning one (e.g. from a secret store). */
  readonly personalApiKey: string | (() => string | Promise<string>)
  /** The private API host (default `https://us.posthog.com`; EU: `https://eu.posthog.com`). */
  readonly apiHost?: string
  /** Also delete the person's events (default true: erasure means the behaviour data too). */
  readonly deleteEvents?: boolean
  /** Also delete session recordings (default true). */
  readonly deleteRecordings?: boolean
}

/** Options of `posthog`. */
export interface PostHogTrackerOptions {
  /**
   * The real client, or a function building it (`() => new PostHog(projectToken, { host })`):
   * then a process that only records never constructs it.
   */
  readonly client: PostHog | (() => PostHog)
  readonly deletion: PostHogDeletion
  /** Adapter name (default `posthog`). */
  readonly name?: string
  /** Tracker categories whose intents it receives (default all). */
  readonly categories?: ReadonlyArray<string>
  /** The purpose of an event that names none (default `analytics`). */
  readonly purpose?: string
  /** Picks an event's purpose from the event (overrides `purpose`). */
  readonly purposeOf?: (event: EventMessage) => string | undefined
  /** Alias kinds that are PostHog distinct ids (default every alias, e.g. the anonymous visitor id). */
  readonly aliasKinds?: ReadonlyArray<string>
  /**
   * Tell PostHog when collection stops (default true): a withdrawal sets person properties
   * (`$set`: `consentkit_opt_out_<purpose>: true`, and `consentkit_opt_out: true` once nothing this
   * tracker collects for is allowed), so cohorts, flags and destinations in PostHog can honour it;
   * a new grant sets them back to false.
   */
  readonly optOutProperties?: boolean
  /** Injectable fetch for the deletion API (default global fetch). */
  readonly fetch?: typeof fetch
}

/** An event to capture: PostHog's `EventMessage` plus who and why. */
export type GatedEvent = Omit<EventMessage, "distinctId"> & {
  readonly tenant: string
  /** The consentkit subject; also the distinct id unless `distinctId` is given. */
  readonly subject: string
  readonly distinctId?: string
  /** The purpose it is collected for (default: `purposeOf`, then the tracker's `purpose`). */
  readonly purpose?: string
}

/** Person properties to set: PostHog's `IdentifyMessage` plus who and why. */
export type GatedIdentify = Omit<IdentifyMessage, "distinctId"> & {
  readonly tenant: string
  readonly subject: string
  readonly distinctId?: string
  readonly purpose?: string
}

/** The gated PostHog tracker: what `kit.adapter(posthog(...))` returns. */
export interface PostHogTracker {
  /** Captures an event if the subject allows its purpose; resolves with the verdict. */
  readonly capture: (event: GatedEvent) => Promise<Verdict>
  /** Sets person properties if the subject allows the purpose. */
  readonly identify: (message: GatedIdentify) => Promise<Verdict>
  /** Sends what the SDK queued. */
  readonly flush: () => Promise<void>
  /** Events sent and dropped, with drop reasons. */
  readonly stats: () => Stats
}

/**
 * PostHog as an adapter descriptor: register it with the kit, then `kit.adapter(descriptor)` gives
 * the tracker whose every capture passes the consent gate.
 *
 * @example
 * ```ts
 * import { createConsentKit, MemoryStore } from "@consentkit/core"
 * import { posthog } from "@consentkit/adapter-posthog"
 * import { PostHog } from "posthog-node"
 *
 * const analytics = posthog({
 *   client: () => new PostHog("phc_project_token", { host: "https://us.i.posthog.com" }),
 *   deletion: { projectId: 12345, personalApiKey: process.env.POSTHOG_PERSONAL_API_KEY! },
 * })
 * const kit = createConsentKit({ policy, store: MemoryStore.make(), secret, adapters: [analytics] })
 * await kit.adapter(analytics).capture({ tenant: "siamtea", subject: "c-1", event: "checkout_started" })
 * ```
 */
export const posthog = (options: PostHogTrackerOptions): AdapterDescriptor<PostHogTracker> => {
  const name = options.name ?? "posthog"
  const doFetch = options.fetch ?? fetch
  const deletion = options.deletion
  const apiHost = (deletion.apiHost ?? "https://us.posthog.com").replace(/\/+$/, "")
  let built: PostHog | undefined
  const clientOf = (): PostHog =>
    (built ??= typeof options.client === "function" ? options.client() : options.client)
  // The opt-out as person properties, sent and flushed before the intent counts as delivered.
  const setOptOut = async (
    intent: { tenant: string; subject: string; purpose: string | null },
    kit: GateKit,
    optedOut: boolean,
  ) => {
    if (intent.purpose === null) return
    const all = optedOut
      ? await everyPurposeRefused(kit, options.categories, intent.tenant, intent.subject)
      : false
    const client = clientOf()
    client.capture({
      distinctId: intent.subject,
      event: "$set",
      properties: { $set: { [`consentkit_opt_out_${intent.purpose}`]: optedOut, consentkit_opt_out: all } },
    })
    await client.flush()
  }

  const gateOptions: Omit<GateOptions, "kit"> = {
    name,
    categories: options.categories,
    aliasKinds: options.aliasKinds,
    // posthog-js's opt-out is a device flag; on the server the stop is not sending, told to PostHog as person properties.
    ...(options.optOutProperties !== false
      ? {
          stopped: (intent, kit) => setOptOut(intent, kit, true),
          resumed: async (intent, kit) => {
            // A first grant follows no opt-out: nothing to undo.
            if (followsStop(intent)) await setOptOut(intent, kit, false)
          },
        }
      : {}),
    erase: async ({ identifiers }) => {
      const key =
        typeof deletion.personalApiKey === "function"
          ? await deletion.personalApiKey()
          : deletion.personalApiKey
      // bulk_delete takes at most 1000 distinct ids per call.
      for (let i = 0; i < identifiers.length; i += 1000) {
        const response = await doFetch(
          `${apiHost}/api/projects/${encodeURIComponent(String(deletion.projectId))}/persons/bulk_delete/`,
          {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({
              distinct_ids: identifiers.slice(i, i + 1000),
              delete_events: deletion.deleteEvents ?? true,
              delete_recordings: deletion.deleteRecordings ?? true,
            }),
          },
        )
        await expectOk(name, response, "PostHog persons/bulk_delete")
      }
    },
  }
  const purposeOf = (event: EventMessage) => options.purposeOf?.(event) ?? options.purpose ?? "analytics"

  return defineTracker(gateOptions, (gate): PostHogTracker => {
    const client = clientOf()
    return {
      capture: async ({ tenant, subject, distinctId, purpose, ...event }) => {
        const message: EventMessage = { ...event, distinctId: distinctId ?? subject }
        const verdict = await gate.check({ tenant, subject, purpose: purpose ?? purposeOf(message) })
        if (verdict.allowed) {
          client.capture(message)
          gate.sent()
        }
        return verdict
      },
      identify: async ({ tenant, subject, distinctId, purpose, ...rest }) => {
        const verdict = await gate.check({
          tenant,
          subject,
          purpose: purpose ?? options.purpose ?? "analytics",
        })
        if (verdict.allowed) {
          client.identify({ ...rest, distinctId: distinctId ?? subject })
          gate.sent()
        }
        return verdict
      },
      flush: () => client.flush(),
      stats: gate.stats,
    }
  })
}
