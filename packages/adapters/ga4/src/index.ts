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

/** The alias kind of a GA client id taken from the `_ga` cookie (`GA1.1.<random>.<timestamp>` → `<random>.<timestamp>`). */
export const CLIENT_ID_ALIAS = "ga4:client_id"

/**
 * The pseudonymous default client id: HMAC-SHA256 of tenant and subject under `key`, as two
 * unsigned 32-bit numbers joined by a dot (GA's client id form).
 */
export const pseudonymousClientId = async (key: string, tenant: string, subject: string): Promise<string> => {
  const encoder = new TextEncoder()
  const hmac = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  )
  const mac = new DataView(
    await crypto.subtle.sign("HMAC", hmac, encoder.encode(`ga4-client-id\u0000${tenant}\u0000${subject}`)),
  )
  return `${mac.getUint32(0)}.${mac.getUint32(4)}`
}

export type { Stats, Verdict } from "@consentkit/tracker-kit"

/** How GA4 erases a user: `properties/{id}:submitUserDeletion` with an OAuth token (scope `analytics.edit`). */
export interface Ga4Deletion {
  /** The GA4 property id (numbers only, e.g. `123456789`). */
  readonly propertyId: string
  /** An OAuth 2.0 access token, or a function returning a fresh one (the host app owns the service account). */
  readonly token: string | (() => string | Promise<string>)
  /**
   * Which Google API files the deletion: `admin` (default; the Admin API's
   * `properties/{id}:submitUserDeletion`) or `user-deletion` (the Google Analytics User Deletion
   * API's `userDeletionRequests:upsert`, scope `analytics.user.deletion`, with `propertyId`).
   */
  readonly api?: "admin" | "user-deletion"
  /** Default `https://analyticsadmin.googleapis.com` (`admin`) or `https://www.googleapis.com` (`user-deletion`). */
  readonly baseUrl?: string
  /** Alias kinds that are GA client ids (default `ga4:client_id`, the `_ga` cookie's id, `ga_client_id` and `anonymous`). */
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
  /**
   * The GA client id of a subject that was given none. Default: a pseudonymous id in GA's
   * `<digits>.<digits>` form, an HMAC of tenant and subject keyed by `apiSecret`, so the customer
   * id never reaches Google as a client id and outsiders cannot recompute it.
   */
  readonly clientIdOf?: (subject: string) => string
  /**
   * Tell Google when collection stops (default true): a withdrawal sends a Measurement Protocol
   * request whose `consent` field carries the subject's consent now (`ad_user_data` /
   * `ad_personalization` `DENIED` once advertising is withdrawn), with one `consentkit_consent_update` event.
   */
  readonly consentSignals?: boolean
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
  const clientIdFor = async (tenant: string, subject: string): Promise<string> =>
    options.clientIdOf
      ? options.clientIdOf(subject)
      : pseudonymousClientId(options.apiSecret, tenant, subject)
  const deletion = options.deletion
  const clientKinds = deletion.clientIdAliasKinds ?? [CLIENT_ID_ALIAS, "ga_client_id", "anonymous"]
  const collect = new URL(options.collectUrl ?? "https://www.google-analytics.com/mp/collect")
  collect.searchParams.set("measurement_id", options.measurementId)
  collect.searchParams.set("api_secret", options.apiSecret)

  const gateOptions: Omit<GateOptions, "kit"> = {
    name,
    categories: options.categories,
    // GA4 has no per-user server-side opt-out: a stop is told through the Measurement Protocol's consent field.
    ...(options.consentSignals !== false
      ? {
          stopped: async (intent, kit) => {
            const policy = kit.policy
            if (!policy || intent.purpose === null) return
            const decisions = await Promise.all(
              policy.purposeIds.map((purpose) =>
                kit.gate.track({ tenant: intent.tenant, subject: intent.subject, purpose }),
              ),
            )
            const consent = measurementProtocolConsent(
              fromChoices(withCategories(decisions, policy), options.consentMapping ?? DEFAULT_MAPPING),
            )
            const response = await doFetch(collect, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                client_id: await clientIdFor(intent.tenant, intent.subject),
                user_id: intent.subject,
                consent,
                events: [{ name: "consentkit_consent_update", params: { purpose: intent.purpose } }],
              }),
            })
            await expectOk(name, response, "GA4 Measurement Protocol (consent update)")
          },
        }
      : {}),
    erase: async ({ tenant, subject, aliases }) => {
      const token = await tokenOf(deletion.token)
      const userDeletion = deletion.api === "user-deletion"
      const base = (
        deletion.baseUrl ??
        (userDeletion ? "https://www.googleapis.com" : "https://analyticsadmin.googleapis.com")
      ).replace(/\/+$/, "")
      const url = userDeletion
        ? `${base}/analytics/v3/userDeletion/userDeletionRequests:upsert`
        : `${base}/v1alpha/properties/${encodeURIComponent(deletion.propertyId)}:submitUserDeletion`
      const clientIds = new Set([
        await clientIdFor(tenant, subject),
        ...aliases.filter((a) => clientKinds.includes(a.kind)).map((a) => a.value),
      ])
      // The request names one user per call (a union field), so each identifier is its own request.
      const users = [{ userId: subject }, ...[...clientIds].map((clientId) => ({ clientId }))]
      for (const user of users) {
        const body = userDeletion
          ? {
              kind: "analytics#userDeletionRequest",
              id:
                "userId" in user
                  ? { type: "USER_ID", userId: user.userId }
                  : { type: "CLIENT_ID", userId: user.clientId },
              propertyId: deletion.propertyId,
            }
          : user
        const response = await doFetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        })
        await expectOk(name, response, userDeletion ? "GA User Deletion upsert" : "GA4 submitUserDeletion")
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
          client_id: request.clientId ?? (await clientIdFor(request.tenant, request.subject)),
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
