/**
 * @consentkit/adapter-line: the LINE Messaging API behind the consent gate. `lineMessenger` pushes
 * and multicasts only to subjects who allow the purpose now, refuses broadcast for consent-based
 * purposes, narrowcasts to an audience built from consent minus an exclusion audience of withdrawn
 * users; `unfollowWebhook` turns a verified `unfollow` event into a recorded withdrawal.
 *
 * @since 0.1.0
 */
export { type OptOutKit, RecipientNotFound } from "./internal/gate.js"
export {
  BroadcastRefused,
  type LineMessage,
  type LineMessenger,
  type LineMessengerOptions,
  type LineRecipients,
  lineMessenger,
  MIN_AUDIENCE,
  type MulticastResult,
  type NarrowcastResult,
} from "./LineMessenger.js"
export {
  DEFAULT_MAX_EVENT_AGE_MS,
  type Route,
  type UnfollowWebhookOptions,
  unfollowWebhook,
  type WebhookRoute,
} from "./Webhook.js"
