/**
 * @consentkit/adapter-sms-inbound: inbound SMS opt-outs. `smsInbound(kit, ...)` is a Web
 * `Request` → `Response` handler for a Twilio-style inbound webhook that records STOP (and
 * UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPT OUT, ยกเลิก, ...) as a withdrawal of every purpose
 * the SMS channel serves, on SMS alone: SMS messengers obey it, the other channels stay open.
 *
 * @since 0.1.0
 */
export {
  type OptOutKit,
  type Route,
  type WebhookRoute,
  type SmsInboundOptions,
  smsInbound,
  twilioSignature,
  type Verification,
} from "./SmsInbound.js"
