/**
 * Web push (the `web-push` library, VAPID + aes128gcm) behind the consent gate. Subscriptions are
 * stored only while the subject allows push, every send is decided at send time, and a withdrawal
 * or erasure drops the subject's subscriptions; a 404 or 410 from the push service marks one gone.
 *
 * @since 0.1.0
 */
import type { Agent } from "node:https"
import type { AdapterDescriptor, Decision, MessengerGate } from "@consentkit/core"
import webpush from "web-push"
import { defineMessenger, RecipientNotFound } from "./internal/gate.js"
import * as Subscriptions from "./Subscriptions.js"

/** Options of `webPushMessenger`. */
export interface WebPushMessengerOptions {
  /** The VAPID key pair (`webpush.generateVAPIDKeys()`) and a `mailto:` or `https:` contact. */
  readonly vapid: { readonly subject: string; readonly publicKey: string; readonly privateKey: string }
  /** Where subscriptions are kept (default in memory). */
  readonly subscriptions?: Subscriptions.SubscriptionStore
  /** An https agent for the push services (e.g. with a private CA in tests). */
  readonly agent?: Agent
  /** Seconds a push service keeps an undelivered message (default web-push's four weeks). */
  readonly ttl?: number
  /** Adapter name, unique within the kit (default `webpush`). */
  readonly name?: string
  /** The channel it sends on (default `push`). */
  readonly channel?: string
}

/** One notification to every device of one subject. */
export interface PushInput {
  readonly tenant: string
  readonly subject: string
  readonly purpose: string
  /** A string, bytes, or JSON-serialisable data for the service worker's `push` event. */
  readonly payload: string | Uint8Array | Record<string, unknown>
  readonly ttl?: number
  readonly urgency?: "very-low" | "low" | "normal" | "high"
  /** Replaces an undelivered message with the same topic. */
  readonly topic?: string
}

/** What a send did: devices reached, subscriptions the push service reported gone (and dropped). */
export interface PushSent {
  readonly delivered: number
  readonly gone: ReadonlyArray<string>
  readonly decision: Decision.Decision
}

/** The gated web-push messenger: what `kit.adapter(webPushMessenger(...))` returns. */
export interface WebPushMessenger {
  /**
   * Stores a browser's subscription if the subject allows push now (for `purpose`, or for any
   * purpose of the channel); resolves with whether it was stored and the decision.
   */
  readonly subscribe: (request: {
    readonly tenant: string
    readonly subject: string
    readonly subscription: Subscriptions.PushSubscription
    readonly purpose?: string
  }) => Promise<{ readonly stored: boolean; readonly decision: Decision.Decision }>
  /** Forgets one device (the browser unsubscribed) or all of a subject's. */
  readonly unsubscribe: (tenant: string, subject: string, endpoint?: string) => Promise<ReadonlyArray<string>>
  /** Pushes to every device of the subject if allowed now; rejects with `ConsentRequired` or `RecipientNotFound`. */
  readonly send: (input: PushInput) => Promise<PushSent>
  readonly subscriptions: Subscriptions.SubscriptionStore
}

const isSubscription = (value: Subscriptions.PushSubscription): boolean => {
  try {
    return (
      new URL(value.endpoint).protocol === "https:" &&
      typeof value.keys?.p256dh === "string" &&
      typeof value.keys?.auth === "string"
    )
  } catch {
    return false
  }
}

const GONE = new Set([404, 410])

/**
 * The gated web-push messenger as an adapter descriptor: register it with the kit
 * (`createConsentKit({ messengers: [push] })`), then `kit.adapter(push)` gives the messenger whose
 * subscribe and send ask the kit's gate.
 */
export const webPushMessenger = (options: WebPushMessengerOptions): AdapterDescriptor<WebPushMessenger> => {
  const channel = options.channel ?? "push"
  const store = options.subscriptions ?? Subscriptions.memory()
  // Fails fast on malformed keys instead of at the first send.
  webpush.getVapidHeaders(
    "https://push.example",
    options.vapid.subject,
    options.vapid.publicKey,
    options.vapid.privateKey,
    "aes128gcm",
  )

  // Whether any purpose on the channel still allows push (e.g. order updates under contract).
  const channelAllowed = async (
    gate: MessengerGate.Gate,
    tenant: string,
    subject: string,
    purpose?: string,
  ) => {
    const kit = gate.kit
    const purposes =
      purpose !== undefined
        ? [purpose]
        : kit.policy.purposeIds.filter((p: string) => kit.policy.purposes.get(p)!.channels.includes(channel))
    let last: Decision.Decision | undefined
    for (const p of purposes) {
      last = await kit.decide(tenant, subject, p)
      if (last.allowed && !gate.localRefusal({ tenant, subject, channel, purpose: p })) return last
    }
    return last ?? (await kit.gate.send({ tenant, subject, channel }))
  }

  return defineMessenger(
    {
      name: options.name ?? "webpush",
      channels: [channel],
      suppress: async (intent, gate) => {
        const still = await channelAllowed(gate, intent.tenant, intent.subject)
        if (!still.allowed) await store.remove(intent.tenant, intent.subject)
      },
      erase: async (intent) => {
        await store.remove(intent.tenant, intent.subject)
      },
    },
    (gate): WebPushMessenger => ({
      subscriptions: store,
      subscribe: async ({ tenant, subject, subscription, purpose }) => {
        if (!isSubscription(subscription))
          throw new TypeError(
            "not a push subscription: expected an https endpoint and keys.p256dh / keys.auth",
          )
        const decision = await channelAllowed(gate, tenant, subject, purpose)
        if (decision.allowed) await store.add(tenant, subject, subscription)
        return { stored: decision.allowed, decision }
      },
      unsubscribe: (tenant, subject, endpoint) => store.remove(tenant, subject, endpoint),
      send: async ({ tenant, subject, purpose, payload, ttl, urgency, topic }) => {
        const decision = await gate.assertSend({ tenant, subject, channel, purpose })
        const devices = await store.list(tenant, subject)
        if (devices.length === 0)
          throw new RecipientNotFound({
            message: `no push subscription for subject "${subject}" of tenant "${tenant}"`,
            tenant,
            subject,
            channel,
          })
        const body =
          typeof payload === "string" || payload instanceof Uint8Array
            ? Buffer.from(payload)
            : Buffer.from(JSON.stringify(payload))
        const gone: Array<string> = []
        let delivered = 0
        let failure: unknown
        for (const device of devices) {
          try {
            await webpush.sendNotification(device as webpush.PushSubscription, body, {
              vapidDetails: options.vapid,
              TTL: ttl ?? options.ttl,
              urgency,
              topic,
              agent: options.agent,
              contentEncoding: "aes128gcm",
            })
            delivered++
          } catch (error) {
            if (error instanceof webpush.WebPushError && GONE.has(error.statusCode)) {
              gone.push(...(await store.remove(tenant, subject, device.endpoint)))
            } else failure ??= error
          }
        }
        // One device failing for another reason fails the send only when no device got it.
        if (delivered === 0 && failure !== undefined) throw failure
        return { delivered, gone, decision }
      },
    }),
  )
}
