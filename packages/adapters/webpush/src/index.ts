/**
 * @consentkit/adapter-webpush: web push behind the consent gate. Subscriptions are stored only
 * while the subject allows push; every send is decided at send time; a withdrawal or erasure drops
 * the subject's subscriptions, and a 404/410 from the push service drops that one.
 *
 * @since 0.1.0
 */
export { RecipientNotFound } from "./internal/gate.js"
export * as Subscriptions from "./Subscriptions.js"
export type { PushSubscription, SubscriptionStore } from "./Subscriptions.js"
export {
  type PushInput,
  type PushSent,
  type WebPushMessenger,
  type WebPushMessengerOptions,
  webPushMessenger,
} from "./WebPushMessenger.js"
