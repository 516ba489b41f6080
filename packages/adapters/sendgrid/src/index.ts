/**
 * @consentkit/adapter-sendgrid: SendGrid behind the consent gate. Sends are decided at send time;
 * a withdrawal puts the recipient on SendGrid's global or group suppression list and a new grant
 * takes them off; an erasure deletes the marketing contact.
 *
 * @since 0.1.0
 */
export { RecipientNotFound } from "./internal/gate.js"
export {
  type EmailRecipients,
  type SendGridClient,
  type SendGridMail,
  type SendGridMessenger,
  type SendGridMessengerOptions,
  type SendGridSent,
  DEFAULT_EVENT_WEBHOOK_MAX_AGE_SECONDS,
  type EventWebhookOptions,
  type Route,
  type WebhookRoute,
  type Suppression,
  sendgridMessenger,
} from "./SendGridMessenger.js"
