/**
 * @consentkit/adapter-ga4: Google Analytics 4 behind the consent gate. Events go to the
 * Measurement Protocol by fetch only when the subject allows their purpose, each request carrying
 * the `consent` field (ad_user_data, ad_personalization) from the subject's choices; a withdrawal
 * stops collection at once; `subject.erase` submits a user deletion through the Admin API with a
 * token the host app supplies.
 *
 * @since 0.1.0
 */
import {
  DEFAULT_MAPPING,
  fromChoices,
  type Mapping,
  measurementProtocolConsent,
  withCategories,
} from "@consentkit/consent-mode"
import type { AdapterDescriptor } from "@consentkit/core"
import { defineTracker, expectOk, type GateOptions, type Stats, type Verdict } from "@consentkit/tracker-kit"

export type { Stats, Verdict } from "@consentkit/tracker-kit"

/** How GA4 erases a user: `properties/{id}:submitUserDeletion` with an OAuth token (scope `analytics.edit`). */
export interface Ga4Deletion {
  /** The GA4 property id (numbers only, e.g. `123456789`). */
  readonly propertyId: string
  /** An OAuth 2.0 access token, or a function returning a fresh one (the host app owns the service account). */
  readonly token: string | (() => string | Promise<string>)
  /** Default `https://analyticsadmin.googleapis.com`. */
  readonly baseUrl?: string
  /** Alias kinds that are GA client ids (default `anonymous` and `ga_client_id`). */
  readonly clientIdAliasKinds?: ReadonlyArray<string>
}

/** Options of `ga4`. */
export interface Ga4TrackerOptions {
  /** The web stream's measurement id (`G-XXXXXXX`). */
  readonly measurementId: string
  /** A Measurement Protocol API secret of that stream. */
  readonly apiSecret: string
  readonly deletion: Ga4Deletion
  /** Adapter name (default `ga4`). */
  readonly name?: string
  /** Tracker categories whose intents it receives (default all). */
  readonly categories?: ReadonlyArray<string>
  /** The purpose of events that name none (default `analytics`). */
  readonly purpose?: string
  /** Default `https://www.google-analytics.com/mp/collect` (EU data collection: `https://region1.google-analytics.com/mp/collect`). */
  readonly collectUrl?: string
  /** Which purposes or categories grant each consent type (default: Consent Mode's category mapping). */
  readonly consentMapping?: Mapping
  /** The GA client id of a subject that was given none (default the subject id itself). */
  readonly clientIdOf?: (subject: string) => string
  /** Injectable fetch (default global fetch). */
  readonly fetch?: typeof fetch
}

/** One GA4 event. */
export interface Ga4Event {
  readonly name: string
  readonly params?: Record<string, unknown>
}

/** A Measurement Protocol request to send, with who and why. */
export interface Ga4Send {
  readonly tenant: string
  readonly subject: string
  /** The GA client id (the `_ga` cookie's id); default `clientIdOf(subject)`. */
  readonly clientId?: string
  /** The GA user id (default the subject; `null` sends none). */
  readonly userId?: string | null
  readonly purpose?: string
  /** Up to 25 events, Google's limit per request. */
  readonly events: ReadonlyArray<Ga4Event>
  readonly userProperties?: Record<string, { readonly value: unknown }>
  readonly timestampMicros?: number
}

/** The gated GA4 tracker: what `kit.adapter(ga4(...))` returns. */
export interface Ga4Tracker {
  /** Sends the events if the subject allows the purpose; rejects if Google does not answer 2xx. */
  readonly send: (request: Ga4Send) => Promise<Verdict>
  readonly stats: () => Stats
}

const tokenOf = async (token: string | (() => string | Promise<string>)) =>
  typeof token === "function" ? await token() : token

/**
 * Sends GA4 events through the consent gate.
 *
 * @example
 * ```ts
 * import { ga4 } from "@consentkit/adapter-ga4"
 *
 * const analytics = ga4({
 *   measurementId: "G-ABC123",
 *   apiSecret: process.env.GA4_API_SECRET!,
 *   deletion: { propertyId: "123456789", token: () => googleAuth.getAccessToken() },
 * })
 * const kit = createConsentKit({ policy, store, secret, adapters: [analytics] })
 * await kit.adapter(analytics).send({ tenant: "siamtea", subject: "c-1", clientId: gaCookieId, events: [{ name: "purchase", params: { value: 420, currency: "THB" } }] })
 * ```
 */
export const ga4 = (options: Ga4TrackerOptions): AdapterDescriptor<Ga4Tracker> => {
  const name = options.name ?? "ga4"
  const doFetch = options.fetch ?? fetch
  const clientIdOf = options.clientIdOf ?? ((subject: string) => subject)
  const deletion = options.deletion
  const clientKinds = deletion.clientIdAliasKinds ?? ["anonymous", "ga_client_id"]
  const collect = new URL(options.collectUrl ?? "https://www.google-analytics.com/mp/collect")
  collect.searchParams.set("measurement_id", options.measurementId)
  collect.searchParams.set("api_secret", options.apiSecret)

  const gateOptions: Omit<GateOptions, "kit"> = {
    name,
    categories: options.categories,
    // GA4 has no per-user server-side opt-out; stop/resume stay local and each request carries its consent field.
    erase: async ({ subject, aliases }) => {
      const token = await tokenOf(deletion.token)
      const base = (deletion.baseUrl ?? "https://analyticsadmin.googleapis.com").replace(/\/+$/, "")
      const url = `${base}/v1alpha/properties/${encodeURIComponent(deletion.propertyId)}:submitUserDeletion`
      const clientIds = new Set([
        clientIdOf(subject),
        ...aliases.filter((a) => clientKinds.includes(a.kind)).map((a) => a.value),
      ])
      // The request names one user per call (a union field), so each identifier is its own request.
      const users = [{ userId: subject }, ...[...clientIds].map((clientId) => ({ clientId }))]
      for (const user of users) {
        const response = await doFetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(user),
        })
        await expectOk(name, response, "GA4 submitUserDeletion")
      }
    },
  }

  return defineTracker(
    gateOptions,
    (gate, kit): Ga4Tracker => ({
      send: async (request) => {
        const verdict = await gate.check({
          tenant: request.tenant,
          subject: request.subject,
          purpose: request.purpose ?? options.purpose ?? "analytics",
        })
        if (!verdict.allowed) return verdict
        const decisions = await kit.decisions(request.tenant, request.subject)
        const consent = measurementProtocolConsent(
          fromChoices(withCategories(decisions, kit.policy), options.consentMapping ?? DEFAULT_MAPPING),
        )
        const userId = request.userId === undefined ? request.subject : request.userId
        const body = {
          client_id: request.clientId ?? clientIdOf(request.subject),
          ...(userId !== null ? { user_id: userId } : {}),
          ...(request.timestampMicros !== undefined ? { timestamp_micros: request.timestampMicros } : {}),
          ...(request.userProperties ? { user_properties: request.userProperties } : {}),
          consent,
          events: request.events,
        }
        const response = await doFetch(collect, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        })
        await expectOk(name, response, "GA4 Measurement Protocol")
        gate.sent(request.events.length)
        return verdict
      },
      stats: gate.stats,
    }),
  )
}
