/**
 * @consentkit/adapter-nodemailer: email over SMTP behind the consent gate, with RFC 8058 one-click
 * unsubscribe. `nodemailerMessenger` sends only what the subject allows now and suppresses the
 * subject the moment a purpose is withdrawn; `oneClickUnsubscribe` is the POST endpoint each
 * mail's `List-Unsubscribe` header points at, recording the withdrawal of that mail's purpose.
 *
 * @since 0.1.0
 */
export { RecipientNotFound } from "./internal/gate.js"
export {
  type EmailRecipients,
  type MailInput,
  type MailSent,
  type NodemailerMessenger,
  type NodemailerMessengerOptions,
  nodemailerMessenger,
} from "./NodemailerMessenger.js"
export * as Unsubscribe from "./Unsubscribe.js"
export { type OneClickOptions, oneClickUnsubscribe, type Route, type WebhookRoute } from "./Unsubscribe.js"
