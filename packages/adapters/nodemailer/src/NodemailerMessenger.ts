/**
 * Email over SMTP through nodemailer, behind the consent gate: every send is decided at send time,
 * a withdrawal suppresses the subject at once (locally, even before the kit's cache catches up),
 * and every marketing mail carries RFC 8058 one-click unsubscribe headers with a signed,
 * per-recipient token.
 *
 * @since 0.1.0
 */
import type { AdapterDescriptor, Decision, Intent } from "@consentkit/core"
import type { SendMailOptions } from "nodemailer"
import { defineMessenger, RecipientNotFound } from "./internal/gate.js"
import * as Unsubscribe from "./Unsubscribe.js"

/**
 * Where a subject's email address comes from: the host's own customer table. The messenger never
 * takes an address per send, so one subject's consent can never carry a mail to someone else.
 */
export interface EmailRecipients {
  /** The subject's address, or null when there is none. */
  readonly resolve: (tenant: string, subject: string) => Promise<string | null> | string | null
  /** Deletes what the host holds for the subject's email on erasure (e.g. a mailing-list row); optional. */
  readonly forget?: (erasure: {
    readonly tenant: string
    readonly subject: string
    readonly aliases: ReadonlyArray<Intent.Alias>
  }) => Promise<void> | void
}

/** Options of `nodemailerMessenger`. */
export interface NodemailerMessengerOptions {
  /** A nodemailer transport (`nodemailer.createTransport({ host, port, auth, dkim })`); sign with DKIM so RFC 8058 applies. */
  readonly transport: { sendMail(mail: SendMailOptions): Promise<{ messageId: string }> }
  /** The From address of marketing mail. */
  readonly from: NonNullable<SendMailOptions["from"]>
  readonly recipients: EmailRecipients
  readonly unsubscribe: {
    /** The public https URL where `oneClickUnsubscribe(...)` is mounted. */
    readonly url: string
    /** The secret tokens are signed with (the same one the route verifies with). */
    readonly secret: Unsubscribe.Secret
    /** A mailto: address offered next to the URL for clients without one-click support. */
    readonly mailto?: string
  }
  /** Adapter name, unique within the kit (default `nodemailer`). */
  readonly name?: string
  /** The channel it sends on (default `email`). */
  readonly channel?: string
}

/** One marketing mail to one subject: nodemailer's message fields without the addressing the messenger owns. */
export interface MailInput {
  readonly tenant: string
  readonly subject: string
  /** The purpose the mail serves (e.g. `marketing.email`); its withdrawal stops it and its unsubscribe link withdraws it. */
  readonly purpose: string
  readonly message: Omit<SendMailOptions, "to" | "cc" | "bcc" | "from" | "list">
}

/** What a delivered mail returns. */
export interface MailSent {
  readonly messageId: string
  readonly to: string
  readonly decision: Decision.Decision
}

/** The gated nodemailer messenger: what `kit.adapter(nodemailerMessenger(...))` returns. */
export interface NodemailerMessenger {
  /**
   * Sends one mail if the subject allows its purpose on this channel now; rejects with
   * `ConsentRequired` (its `decision.reason` says why) when not, and `RecipientNotFound` without an address.
   */
  readonly send: (mail: MailInput) => Promise<MailSent>
}

const ONE_CLICK = { key: "List-Unsubscribe-Post", value: "List-Unsubscribe=One-Click" }

// The host's own headers stay; the one-click header replaces any it set.
const withOneClick = (headers: SendMailOptions["headers"]): NonNullable<SendMailOptions["headers"]> => {
  if (headers === undefined) return [ONE_CLICK]
  const list = Array.isArray(headers)
    ? headers
    : "key" in headers && typeof headers.key === "string"
      ? [headers as { key: string; value: unknown }]
      : Object.entries(headers).map(([key, value]) => ({ key, value }))
  return [...list.filter((h) => h.key.toLowerCase() !== "list-unsubscribe-post"), ONE_CLICK] as NonNullable<
    SendMailOptions["headers"]
  >
}

/**
 * The gated nodemailer messenger as an adapter descriptor: register it with the kit
 * (`createConsentKit({ messengers: [mail] })`), then `kit.adapter(mail).send(...)` sends through
 * the kit's gate.
 */
export const nodemailerMessenger = (
  options: NodemailerMessengerOptions,
): AdapterDescriptor<NodemailerMessenger> => {
  const channel = options.channel ?? "email"
  return defineMessenger(
    {
      name: options.name ?? "nodemailer",
      channels: [channel],
      // SMTP has no suppression list: the local list and the kit's gate refuse every later send.
      erase: async (intent) => {
        await options.recipients.forget?.({
          tenant: intent.tenant,
          subject: intent.subject,
          aliases: intent.aliases,
        })
      },
    },
    (gate): NodemailerMessenger => ({
      send: async ({ tenant, subject, purpose, message }) => {
        const decision = await gate.assertSend({ tenant, subject, channel, purpose })
        const to = await options.recipients.resolve(tenant, subject)
        if (!to)
          throw new RecipientNotFound({
            message: `no email address for subject "${subject}" of tenant "${tenant}"`,
            tenant,
            subject,
            channel,
          })
        const token = Unsubscribe.sign(options.unsubscribe.secret, { tenant, subject, purpose, channel })
        const link = Unsubscribe.url(options.unsubscribe.url, token)
        const info = await options.transport.sendMail({
          ...message,
          from: options.from,
          to,
          list: { unsubscribe: [options.unsubscribe.mailto ? [link, options.unsubscribe.mailto] : link] },
          headers: withOneClick(message.headers),
        })
        return { messageId: info.messageId, to, decision }
      },
    }),
  )
}
