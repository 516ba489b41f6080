/**
 * The LINE webhook as an opt-out source: an `unfollow` event (the user blocked the official
 * account) withdraws every purpose the LINE channel serves on LINE alone (email and SMS stay as
 * they were), recorded with its source; a later `follow` (unblocked) reopens LINE for them.
 * The `x-line-signature` header is verified against the raw body before anything is read, and
 * an event older than the freshness window is refused, so a captured request cannot be replayed.
 *
 * @since 0.1.0
 */
import { validateSignature, type webhook } from "@line/bot-sdk"
import type { OptOutKit } from "./internal/gate.js"
import { requireSecret } from "./internal/secret.js"
import type { Route, RouteContext } from "@consentkit/core"

/** core's `Route` (re-exported under its old name here so imports from this package keep compiling). */
export type { Route }

/** A core `Route` whose handler also takes a bare request (so a framework route can call it directly). */
export type WebhookRoute = Route & {
  readonly handle: (request: Request, context?: RouteContext) => Promise<Response>
}

/** Options of `unfollowWebhook`. */
export interface UnfollowWebhookOptions {
  /** The tenant (brand) whose official account calls this webhook. */
  readonly tenant: string
  /** The channel secret that signs LINE's webhook requests (from the environment; empty or blank is refused at construction). */
  readonly channelSecret: string
  /** Where the host mounts the route (the webhook URL set in the LINE Developers console). */
  readonly path: string
  /** The channel whose purposes an unfollow withdraws (default `line`). */
  readonly channel?: string
  /** LINE user id → subject; default: the subject linked with `kit.link({ alias: { kind: "line", value } })`. */
  readonly resolveSubject?: (tenant: string, userId: string) => Promise<string | null> | string | null
  /**
   * How old an unfollow event's `timestamp` may be, in ms (default `DEFAULT_MAX_EVENT_AGE_MS`, one
   * hour). Older ones make the whole request a 400 that records nothing: a signed body captured
   * once cannot withdraw consent again later. Raise it if LINE's redelivery may reach you later.
   */
  readonly maxEventAgeMs?: number
  /** The current time in ms (default `Date.now`); tests pass a fixed clock. */
  readonly now?: () => number
}

/** One hour: LINE delivers within seconds and redelivers failed events soon after; a request older than this is a replay, not a delivery. */
export const DEFAULT_MAX_EVENT_AGE_MS = 60 * 60 * 1000

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

/**
 * The webhook endpoint: a bad or missing signature gets 401 and records nothing; an unfollow older
 * than `maxEventAgeMs` gets 400 and the request records nothing; each `unfollow`
 * from a known user records `kit.optOut({ channel: "line", source: "line-unfollow" })`, keyed by
 * `webhookEventId` so LINE's redeliveries record once; a `follow` records `kit.optIn(...)` (source
 * `line-follow`), which reopens only what an unfollow closed. Other events are acknowledged and ignored.
 */
export const unfollowWebhook = (kit: OptOutKit, options: UnfollowWebhookOptions): WebhookRoute => {
  const channelSecret = requireSecret("channelSecret", "LINE_CHANNEL_SECRET", options.channelSecret)
  const maxEventAgeMs = options.maxEventAgeMs ?? DEFAULT_MAX_EVENT_AGE_MS
  if (!(maxEventAgeMs > 0)) throw new Error("maxEventAgeMs must be a positive number of milliseconds")
  const now = options.now ?? Date.now
  const channel = options.channel ?? "line"
  const resolveSubject =
    options.resolveSubject ?? ((tenant, userId) => kit.resolveAlias(tenant, { kind: "line", value: userId }))
  return {
    method: "POST",
    path: options.path,
    handle: async (request) => {
      if (request.method !== "POST") return json(405, { message: "use POST" })
      const body = await request.text()
      const signature = request.headers.get("x-line-signature")
      if (!signature || !validateSignature(body, channelSecret, signature))
        return json(401, { message: "signature validation failed" })
      let events: ReadonlyArray<webhook.Event>
      try {
        const list: unknown = (JSON.parse(body) as Partial<webhook.CallbackRequest> | null)?.events ?? []
        if (!Array.isArray(list)) return json(400, { message: "expected an events array" })
        events = list
      } catch {
        return json(400, { message: "the body is not JSON" })
      }
      const unfollows = events.filter(
        (event): event is (webhook.UnfollowEvent | webhook.FollowEvent) & { source: { userId: string } } =>
          (event.type === "unfollow" || (event.type === "follow" && kit.optIn !== undefined)) &&
          event.source?.type === "user" &&
          !!event.source.userId,
      )
      // Every event is checked before any is recorded: a replayed request records nothing at all.
      const at = now()
      for (const event of unfollows)
        if (typeof event.timestamp !== "number" || !Number.isFinite(event.timestamp))
          return json(400, { message: "an event has no timestamp" })
        else if (at - event.timestamp > maxEventAgeMs) return json(400, { message: "an event is too old" })
      let recorded = 0
      for (const event of unfollows) {
        const subject = await resolveSubject(options.tenant, event.source.userId)
        if (!subject) continue
        const command = event.type === "follow" ? kit.optIn!.bind(kit) : kit.optOut.bind(kit)
        await command({
          tenant: options.tenant,
          subject,
          channel,
          source: event.type === "follow" ? "line-follow" : "line-unfollow",
          // A sender clock ahead of ours must not make the command look like it comes from the future.
          occurredAt: new Date(Math.min(event.timestamp, at)),
          idempotencyKey: `line-webhook:${event.webhookEventId}`,
          evidence: {
            metadata: {
              webhookEventId: event.webhookEventId,
              redelivery: event.deliveryContext?.isRedelivery ?? false,
            },
          },
        })
        recorded++
      }
      return json(200, { recorded })
    },
  }
}
