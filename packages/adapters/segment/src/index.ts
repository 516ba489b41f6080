/**
 * @consentkit/adapter-segment: Segment behind the consent gate. `track`, `identify` and `page`
 * reach the real `@segment/analytics-node` client only when the subject allows the event's
 * purpose, and every message carries `context.consent.categoryPreferences` so Segment's
 * consent-aware destinations agree. A withdrawal stops collection at once; `subject.erase` files a
 * `SUPPRESS_WITH_DELETE` regulation through Segment's Public API.
 *
 * RudderStack's Node SDK takes the same payloads (`/v1/batch`, Segment spec) and the same method
 * shapes, so it works as `client` unchanged; `deletion: { api: "rudderstack" }` files the erasure
 * through RudderStack's User Suppression API instead.
 *
 * @since 0.1.0
 */
import type { AdapterDescriptor, Decision } from "@consentkit/core"
import {
  defineTracker,
  everyPurposeRefused,
  expectOk,
  followsStop,
  type GateOptions,
  type Stats,
  type Verdict,
} from "@consentkit/tracker-kit"

export type { Stats, Verdict } from "@consentkit/tracker-kit"

/** Fields every Segment-spec message shares. */
export interface MessageFields {
  readonly userId?: string
  readonly anonymousId?: string
  readonly context?: { readonly consent?: Record<string, unknown>; readonly [key: string]: unknown }
  readonly timestamp?: Date | string
  readonly messageId?: string
  readonly integrations?: Record<string, unknown>
}

/**
 * What the tracker needs from the client: the Segment-spec calls. `Analytics` from
 * `@segment/analytics-node` and RudderStack's `@rudderstack/rudder-sdk-node` both fit.
 */
export interface SegmentCompatibleClient {
  track(message: MessageFields & { event: string; properties?: Record<string, unknown> }): void
  identify(message: MessageFields & { traits?: Record<string, unknown> }): void
  page(
    message: MessageFields & { name?: string; category?: string; properties?: Record<string, unknown> },
  ): void
  flush(...args: Array<never>): unknown
}

/** Segment's Public API regulation (workspace-wide, or one source when `sourceId` is set). */
export interface SegmentDeletion {
  readonly api: "segment"
  /** A Public API token with the Workspace Owner role, or a function returning one. */
  readonly token: string | (() => string | Promise<string>)
  /** Default `https://api.segmentapis.com` (EU: `https://eu1.api.segmentapis.com`). */
  readonly baseUrl?: string
  /** Default `SUPPRESS_WITH_DELETE` (suppress new data, delete old data, forward to destinations). */
  readonly regulationType?:
    | "SUPPRESS_WITH_DELETE"
    | "SUPPRESS_WITH_DELETE_INTERNAL"
    | "DELETE_ONLY"
    | "DELETE_INTERNAL"
  /** Regulate one source only; source regulations also accept anonymous ids. */
  readonly sourceId?: string
}

/** RudderStack's User Suppression API (`POST /v2/regulations`). */
export interface RudderStackDeletion {
  readonly api: "rudderstack"
  /** A service (or personal) access token, or a function returning one. */
  readonly token: string | (() => string | Promise<string>)
  /** Default `https://api.rudderstack.com` (EU: `https://api.eu.rudderstack.com`). */
  readonly baseUrl?: string
  /** Destinations to delete from; default every destination that supports deletion. */
  readonly destinationIds?: ReadonlyArray<string>
}

/** Options of `segment`. */
export interface SegmentTrackerOptions {
  /** `new Analytics({ writeKey })`, or RudderStack's `new Analytics(writeKey, { dataPlaneUrl })`. */
  readonly client: SegmentCompatibleClient
  readonly deletion: SegmentDeletion | RudderStackDeletion
  /** Adapter name (default `segment`). */
  readonly name?: string
  /** Tracker categories whose intents it receives (default all). */
  readonly categories?: ReadonlyArray<string>
  /** The purpose of an event that names none (default `analytics`). */
  readonly purpose?: string
  /** Picks a track event's purpose from its name and properties. */
  readonly purposeOf?: (event: {
    readonly event: string
    readonly properties?: Record<string, unknown>
  }) => string | undefined
  /**
   * Adds `context.consent.categoryPreferences` (tracker category → allowed) to every message, the
   * shape Segment's Consent Management reads (default true).
   */
  readonly consentContext?: boolean
  /** Alias kinds that are Segment anonymous ids (default `anonymous`); every other alias is a user id. */
  readonly anonymousIdKinds?: ReadonlyArray<string>
  /**
   * Tell Segment when collection stops (default true with `deletion.api: "segment"`): once every
   * purpose this tracker collects for is refused, a `SUPPRESS_ONLY` regulation (Segment drops the
   * user's new data at its edge, before any destination); a new grant files `UNSUPPRESS`.
   * Segment suppresses a user for all data, so one purpose still allowed keeps them unsuppressed
   * (the local gate still drops that purpose's events). RudderStack stays local.
   */
  readonly suppressOnStop?: boolean
  /** Injectable fetch for the deletion API (default global fetch). */
  readonly fetch?: typeof fetch
}

/** Who a message is about and why it is collected. */
export interface Subject {
  readonly tenant: string
  /** The consentkit subject; also the `userId` unless `userId` or `anonymousId` is given. */
  readonly subject: string
  /** The purpose it is collected for (default: `purposeOf`, then the tracker's `purpose`). */
  readonly purpose?: string
}

/** The gated Segment tracker: what `kit.adapter(segment(...))` returns. */
export interface SegmentTracker {
  readonly track: (
    message: Subject &
      MessageFields & { readonly event: string; readonly properties?: Record<string, unknown> },
  ) => Promise<Verdict>
  readonly identify: (
    message: Subject & MessageFields & { readonly traits?: Record<string, unknown> },
  ) => Promise<Verdict>
  readonly page: (
    message: Subject &
      MessageFields & {
        readonly name?: string
        readonly category?: string
        readonly properties?: Record<string, unknown>
      },
  ) => Promise<Verdict>
  /** Sends what the SDK queued (`flush()`; Segment's `closeAndFlush()` stays the app's call at shutdown). */
  readonly flush: () => Promise<void>
  readonly stats: () => Stats
}

const tokenOf = async (token: string | (() => string | Promise<string>)) =>
  typeof token === "function" ? await token() : token

/**
 * Wraps a Segment (or RudderStack) client so every message passes the consent gate.
 *
 * @example
 * ```ts
 * import { Analytics } from "@segment/analytics-node"
 * import { segment } from "@consentkit/adapter-segment"
 *
 * const cdp = segment({
 *   client: new Analytics({ writeKey: process.env.SEGMENT_WRITE_KEY! }),
 *   deletion: { api: "segment", token: process.env.SEGMENT_PUBLIC_API_TOKEN! },
 * })
 * const kit = createConsentKit({ policy, store, secret, adapters: [cdp] })
 * await kit.adapter(cdp).track({ tenant: "siamtea", subject: "c-1", event: "Order Completed", properties: { total: 420 } })
 * ```
 */
export const segment = (options: SegmentTrackerOptions): AdapterDescriptor<SegmentTracker> => {
  const name = options.name ?? "segment"
  const doFetch = options.fetch ?? fetch
  const deletion = options.deletion
  const anonymousKinds = options.anonymousIdKinds ?? ["anonymous"]

  const post = async (url: string, token: string, body: unknown, what: string) => {
    const response = await doFetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    })
    await expectOk(name, response, what)
  }

  const regulationsUrl = () => {
    const base = (deletion.baseUrl ?? "https://api.segmentapis.com").replace(/\/+$/, "")
    const sourceId = deletion.api === "segment" ? deletion.sourceId : undefined
    return sourceId ? `${base}/regulations/sources/${encodeURIComponent(sourceId)}` : `${base}/regulations`
  }
  const tellSegment = deletion.api === "segment" && options.suppressOnStop !== false
  // One commit can stop or resume several purposes: one regulation per subject and ledger position.
  const filed = new Set<string>()
  const regulate = async (
    intent: { tenant: string; subject: string; seq: number },
    regulationType: "SUPPRESS_ONLY" | "UNSUPPRESS",
  ) => {
    const key = `${intent.tenant}\u0000${intent.subject}\u0000${intent.seq}\u0000${regulationType}`
    if (filed.has(key)) return
    await post(
      regulationsUrl(),
      await tokenOf(deletion.token),
      { regulationType, subjectType: "USER_ID", subjectIds: [intent.subject] },
      `Segment regulations (${regulationType})`,
    )
    filed.add(key)
    if (filed.size > 10_000) filed.delete(filed.values().next().value!)
  }

  const gateOptions: Omit<GateOptions, "kit"> = {
    name,
    categories: options.categories,
    // Segment's suppression is per user for all data, not per purpose: it is filed once nothing this
    // tracker collects for is allowed; until then each message carries the consent categories.
    ...(tellSegment
      ? {
          stopped: async (intent, kit) => {
            if (await everyPurposeRefused(kit, options.categories, intent.tenant, intent.subject))
              await regulate(intent, "SUPPRESS_ONLY")
          },
          resumed: async (intent) => {
            // A first grant follows no suppression: nothing to undo.
            if (followsStop(intent)) await regulate(intent, "UNSUPPRESS")
          },
        }
      : {}),
    erase: async ({ subject, aliases }) => {
      const token = await tokenOf(deletion.token)
      const anonymous = aliases.filter((a) => anonymousKinds.includes(a.kind)).map((a) => a.value)
      const userIds = [
        ...new Set([subject, ...aliases.filter((a) => !anonymousKinds.includes(a.kind)).map((a) => a.value)]),
      ]
      if (deletion.api === "rudderstack") {
        const base = (deletion.baseUrl ?? "https://api.rudderstack.com").replace(/\/+$/, "")
        await post(
          `${base}/v2/regulations`,
          token,
          {
            regulationType: "suppress_with_delete",
            ...(deletion.destinationIds ? { destinationIds: deletion.destinationIds } : {}),
            users: userIds.map((userId) => ({ userId })),
          },
          "RudderStack /v2/regulations",
        )
        return
      }
      const base = (deletion.baseUrl ?? "https://api.segmentapis.com").replace(/\/+$/, "")
      const url = deletion.sourceId
        ? `${base}/regulations/sources/${encodeURIComponent(deletion.sourceId)}`
        : `${base}/regulations`
      const regulationType = deletion.regulationType ?? "SUPPRESS_WITH_DELETE"
      // The Public API takes at most 5000 subject ids per call.
      for (let i = 0; i < userIds.length; i += 5000) {
        await post(
          url,
          token,
          { regulationType, subjectType: "USER_ID", subjectIds: userIds.slice(i, i + 5000) },
          "Segment regulations",
        )
      }
      // Only source-scoped regulations take anonymous ids.
      if (deletion.sourceId && anonymous.length > 0) {
        await post(
          url,
          token,
          { regulationType, subjectType: "ANONYMOUS_ID", subjectIds: anonymous },
          "Segment regulations",
        )
      }
    },
  }

  return defineTracker(gateOptions, (gate, kit): SegmentTracker => {
    const preferences = async (tenant: string, subject: string, decision: Decision.Decision) => {
      if (options.consentContext === false) return undefined
      const decisions = await kit.decisions(tenant, subject)
      const prefs: Record<string, boolean> = {}
      for (const d of decisions) {
        for (const category of kit.policy.purposes.get(d.purpose)?.trackerCategories ?? []) {
          prefs[category] = (prefs[category] ?? true) && d.allowed
        }
      }
      // The gate's decision is the freshest word on this event's own purpose.
      for (const category of kit.policy.purposes.get(decision.purpose)?.trackerCategories ?? []) {
        prefs[category] = (prefs[category] ?? true) && decision.allowed
      }
      return prefs
    }

    const gated =
      <M extends Subject & MessageFields>(
        send: (message: Omit<M, "tenant" | "subject" | "purpose">) => void,
        purposeOf: (message: M) => string | undefined,
      ) =>
      async (message: M): Promise<Verdict> => {
        const { tenant, subject, purpose, ...rest } = message
        const verdict = await gate.check({
          tenant,
          subject,
          purpose: purpose ?? purposeOf(message) ?? options.purpose ?? "analytics",
        })
        if (!verdict.allowed) return verdict
        const prefs = await preferences(tenant, subject, verdict.decision)
        const identity =
          rest.userId === undefined && rest.anonymousId === undefined ? { userId: subject } : {}
        send({
          ...rest,
          ...identity,
          ...(prefs
            ? {
                context: {
                  ...rest.context,
                  consent: { ...rest.context?.consent, categoryPreferences: prefs },
                },
              }
            : {}),
        } as Omit<M, "tenant" | "subject" | "purpose">)
        gate.sent()
        return verdict
      }

    return {
      track: gated(
        (m) => options.client.track(m),
        (m) => options.purposeOf?.(m),
      ),
      identify: gated(
        (m) => options.client.identify(m),
        () => undefined,
      ),
      page: gated(
        (m) => options.client.page(m),
        () => undefined,
      ),
      flush: async () => {
        await options.client.flush()
      },
      stats: gate.stats,
    }
  })
}
