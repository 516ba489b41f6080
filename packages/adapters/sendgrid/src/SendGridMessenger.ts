/**
 * Email through SendGrid behind the consent gate (@sendgrid/client). Every send is decided at send
 * time; a withdrawal puts the recipient on SendGrid's suppression list (global, or the unsubscribe
 * group mapped to the purpose), so SendGrid itself drops mail the app might still try; a new grant
 * lifts it; an erasure deletes the marketing contact.
 *
 * @since 0.1.0
 */
import { AdapterError, type AdapterDescriptor, type Decision } from "@consentkit/core"
import { createPublicKey, type KeyObject, verify } from "node:crypto"
import sendgrid from "@sendgrid/client"
import { Schema } from "effect"
import { defineMessenger, RecipientNotFound } from "./internal/gate.js"
import type { Route, RouteContext } from "@consentkit/core"

/** The part of `@sendgrid/client` the messenger uses (a `Client` instance, or a test double). */
export interface SendGridClient {
  request(data: {
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
    url: string
    body?: unknown
    qs?: Record<string, string>
  }): Promise<[{ statusCode: number; headers: Record<string, unknown> }, unknown]>
}

/** Where a subject's email address comes from: the host's own customer table. */
export interface EmailRecipients {
  /** The subject's address, or null when there is none. */
  readonly resolve: (tenant: string, subject: string) => Promise<string | null> | string | null
}

/**
 * Which SendGrid suppression list a purpose's withdrawal goes to: the global one, or unsubscribe
 * groups (ASM) per purpose; a purpose with no group (nor an ancestor with one) goes global.
 */
export type Suppression =
  | { readonly kind: "global" }
  | { readonly kind: "groups"; readonly groups: Readonly<Record<string, number>> }

/** Options of `sendgridMessenger`. */
export interface SendGridMessengerOptions {
  /** An API key with Mail Send, Suppressions and Marketing (contacts) access. */
  readonly apiKey: string
  /** API origin (default `https://api.sendgrid.com`); tests point it at a local server. */
  readonly baseUrl?: string
  /** A client to use instead of a new `@sendgrid/client` `Client` (then `apiKey`/`baseUrl` are its business). */
  readonly client?: SendGridClient
  readonly from: string | { readonly email: string; readonly name?: string }
  readonly recipients: EmailRecipients
  readonly suppression: Suppression
  /** Adapter name, unique within the kit (default `sendgrid`). */
  readonly name?: string
  /** The channel it sends on (default `email`). */
  readonly channel?: string
}

/** One mail to one subject. */
export interface SendGridMail {
  readonly tenant: string
  readonly subject: string
  readonly purpose: string
  readonly message: {
    readonly subject?: string
    readonly text?: string
    readonly html?: string
    /** A dynamic template instead of `text`/`html`. */
    readonly templateId?: string
    readonly dynamicTemplateData?: Record<string, unknown>
    readonly categories?: ReadonlyArray<string>
  }
}

/** What a send returns. */
export interface SendGridSent {
  readonly messageId: string | null
  readonly to: string
  readonly decision: Decision.Decision
}

/** The gated SendGrid messenger: what `kit.adapter(sendgridMessenger(...))` returns. */
export interface SendGridMessenger {
  /** Sends if the subject allows the purpose now; rejects with `ConsentRequired` or `RecipientNotFound`. */
  readonly send: (mail: SendGridMail) => Promise<SendGridSent>
  /**
   * The Event Webhook route: opt-outs made at SendGrid (its unsubscribe links, group unsubscribes,
   * spam reports) are recorded as withdrawals, once the ECDSA signature verifies.
   */
  readonly eventWebhook: (options: EventWebhookOptions) => WebhookRoute
}

/** core's `Route` (re-exported under its old name here so imports from this package keep compiling). */
export type { Route }

/** A core `Route` whose handler also takes a bare request (so a framework route can call it directly). */
export type WebhookRoute = Route & {
  readonly handle: (request: Request, context?: RouteContext) => Promise<Response>
}

/** Options of `eventWebhook`. */
export interface EventWebhookOptions {
  /**
   * The verification key from SendGrid's Mail Settings (base64 DER, or PEM), read from the
   * environment. Refused at construction unless it parses as an EC public key.
   */
  readonly publicKey: string
  readonly path: string
  /**
   * Refuse requests whose signed `X-Twilio-Email-Event-Webhook-Timestamp` is further than this
   * from now, either way (default `DEFAULT_EVENT_WEBHOOK_MAX_AGE_SECONDS`, 5 minutes): a captured signed request
   * cannot be replayed later.
   */
  readonly maxAgeSeconds?: number
  /** The current time in ms (default `Date.now`); tests pass a fixed clock. */
  readonly now?: () => number
}

/** Five minutes: SendGrid signs each POST as it sends it, so an older signature is a replay (the usual window for signed webhooks). */
export const DEFAULT_EVENT_WEBHOOK_MAX_AGE_SECONDS = 300

/** The Event Webhook's verification key, or a clear error: a missing or unreadable key must not start a route. */
const verificationKey = (publicKey: unknown): KeyObject => {
  if (typeof publicKey !== "string" || publicKey.trim() === "")
    throw new Error(
      "eventWebhook: publicKey is empty; pass the verification key from SendGrid's Mail Settings → Event Webhook (e.g. process.env.SENDGRID_WEBHOOK_VERIFICATION_KEY)",
    )
  let key: KeyObject
  try {
    key = createPublicKey(
      publicKey.includes("BEGIN PUBLIC KEY")
        ? publicKey
        : { key: Buffer.from(publicKey.trim(), "base64"), format: "der", type: "spki" },
    )
  } catch {
    throw new Error(
      "eventWebhook: publicKey is not a public key (expected base64 DER or PEM, as SendGrid shows it)",
    )
  }
  // SendGrid signs with ECDSA P-256; any other key type cannot verify its signatures.
  if (key.asymmetricKeyType !== "ec")
    throw new Error(
      `eventWebhook: publicKey is a ${key.asymmetricKeyType ?? "non-EC"} key; SendGrid's is ECDSA`,
    )
  return key
}

type Target = "global" | number

/** The fields of a SendGrid event the webhook reads (custom args arrive as top-level fields; others pass). */
const SendGridEvent = Schema.Struct({
  event: Schema.optional(Schema.String),
  email: Schema.optional(Schema.String),
  timestamp: Schema.optional(Schema.Number),
  sg_event_id: Schema.optional(Schema.String),
  asm_group_id: Schema.optional(Schema.Number),
  consentkit_tenant: Schema.optional(Schema.String),
  consentkit_subject: Schema.optional(Schema.String),
})
type SendGridEvent = typeof SendGridEvent.Type
const decodeEvents = Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Array(SendGridEvent)))

/** What `POST /v3/marketing/contacts/search/emails` answers: contacts by address. */
const ContactSearch = Schema.Struct({
  result: Schema.optional(
    Schema.Record(
      Schema.String,
      Schema.Struct({ contact: Schema.optional(Schema.Struct({ id: Schema.optional(Schema.String) })) }),
    ),
  ),
})
const decodeContactSearch = Schema.decodeUnknownSync(ContactSearch)

// Refusals that follow an earlier permission, so a suppression list may still be holding them.
const WITHDRAWN: ReadonlySet<Decision.Reason> = new Set([
  "withdrawn",
  "parent_withdrawn",
  "gpc_opt_out",
  "channel_withdrawn",
])
// Refusals a write flipped to from an allowed decision: the only ones a suppress was sent for
// (plus an opt-out recorded from SendGrid's own list). A resume from any other (`no_consent` on a
// first grant, `expired`, `outdated_version`) finds nothing on the list.
const SUPPRESSED_FROM: ReadonlySet<Decision.Reason> = new Set([...WITHDRAWN, "denied"])

/** Most (list, address, ledger position) posts remembered, so one commit's intents post once. */
const MAX_POSTED = 10_000

const newClient = (apiKey: string, baseUrl: string | undefined): SendGridClient => {
  // The package's default export is a shared singleton; each messenger gets its own Client.
  const Client = (sendgrid as unknown as { Client: new () => typeof sendgrid }).Client
  const client = new Client()
  client.setApiKey(apiKey)
  // setApiKey resets the base URL to the region's, so the override comes after it.
  if (baseUrl) client.setDefaultRequest("baseUrl", baseUrl)
  return client as unknown as SendGridClient
}

const statusOf = (error: unknown): number | undefined => (error as { code?: number }).code

const errorText = (error: unknown): string => {
  const body = (error as { response?: { body?: { errors?: Array<{ message?: string }> } } }).response?.body
  const details = body?.errors?.map((e) => e.message).join("; ")
  return `${statusOf(error) ?? ""} ${(error as Error).message ?? String(error)}${details ? `: ${details}` : ""}`.trim()
}

/**
 * The gated SendGrid messenger as an adapter descriptor: register it with the kit
 * (`createConsentKit({ messengers: [mail] })`), then `kit.adapter(mail)` gives the messenger whose
 * every send passes the kit's gate. The SendGrid client is built on first use.
 */
export const sendgridMessenger = (
  options: SendGridMessengerOptions,
): AdapterDescriptor<SendGridMessenger> => {
  const channel = options.channel ?? "email"
  let made: SendGridClient | undefined
  const client = (): SendGridClient => (made ??= options.client ?? newClient(options.apiKey, options.baseUrl))
  const from = typeof options.from === "string" ? { email: options.from } : options.from

  const targetOf = (purpose: string | null): Target => {
    if (options.suppression.kind === "global" || purpose === null) return "global"
    // The purpose's own group, else its nearest ancestor's (`marketing.email.promo` → `marketing.email`).
    for (let p = purpose; p !== ""; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
      const group = options.suppression.groups[p]
      if (group !== undefined) return group
    }
    return "global"
  }

  const addressOf = async (tenant: string, subject: string) => {
    const email = await options.recipients.resolve(tenant, subject)
    return email ? email.toLowerCase() : null
  }

  const name = options.name ?? "sendgrid"
  // For intent handlers: a 4xx other than 429 will not succeed on retry, so it goes to the dead letters at once.
  const call = async (request: Parameters<SendGridClient["request"]>[0]) => {
    try {
      return await client().request(request)
    } catch (error) {
      const status = statusOf(error)
      throw new AdapterError({
        adapter: name,
        message: `SendGrid ${request.method} ${request.url}: ${errorText(error)}`,
        isRetryable: status === undefined || status === 429 || status >= 500,
        cause: error,
      })
    }
  }

  // One withdrawal of a parent purpose is one intent per child purpose, all of one commit (one
  // ledger position): on a shared list, the first post suppresses the address for all of them.
  const posted = new Set<string>()
  const postedKey = (intent: { tenant: string; seq: number }, target: Target, email: string) =>
    `${intent.tenant}\u0000${intent.seq}\u0000${target}\u0000${email}`

  return defineMessenger(
    {
      name,
      channels: [channel],
      suppress: async (intent) => {
        const email = await addressOf(intent.tenant, intent.subject)
        if (!email) return
        const target = targetOf(intent.purpose)
        const key = postedKey(intent, target, email)
        if (posted.has(key)) return
        await call({
          method: "POST",
          url: target === "global" ? "/v3/asm/suppressions/global" : `/v3/asm/groups/${target}/suppressions`,
          body: { recipient_emails: [email] },
        })
        posted.add(key)
        if (posted.size > MAX_POSTED) posted.delete(posted.values().next().value!)
      },
      resume: async (intent, gate) => {
        // A first grant (or one after an expiry) follows no suppression: no DELETE for it. Intents
        // written before `previous` existed lift the list as before.
        if (intent.previous !== undefined && !SUPPRESSED_FROM.has(intent.previous)) return
        const email = await addressOf(intent.tenant, intent.subject)
        if (!email) return
        const target = targetOf(intent.purpose)
        // One list can hold several purposes' withdrawals: lift it only when none of the others is still withdrawn.
        const kit = gate.kit
        const held = new Set(gate.suppressedPurposes(intent.tenant, intent.subject))
        const sharing = kit.policy.purposeIds.filter(
          (p: string) =>
            p !== intent.purpose &&
            kit.policy.purposes.get(p)!.channels.includes(channel) &&
            targetOf(p) === target,
        )
        for (const p of sharing) {
          if (held.has(p) || held.has(`${p}#${channel}`)) return
          const decision = await kit.decide(intent.tenant, intent.subject, p, { channel })
          if (!decision.allowed && WITHDRAWN.has(decision.reason)) return
        }
        const path =
          target === "global" ? "/v3/asm/suppressions/global" : `/v3/asm/groups/${target}/suppressions`
        await call({ method: "DELETE", url: `${path}/${encodeURIComponent(email)}` })
      },
      erase: async (intent) => {
        const emails = new Set<string>()
        for (const alias of intent.aliases) if (alias.kind === "email") emails.add(alias.value.toLowerCase())
        const resolved = await addressOf(intent.tenant, intent.subject)
        if (resolved) emails.add(resolved)
        if (emails.size === 0) return
        let found: NonNullable<(typeof ContactSearch.Type)["result"]>
        try {
          const [, body] = await call({
            method: "POST",
            url: "/v3/marketing/contacts/search/emails",
            body: { emails: [...emails] },
          })
          found = decodeContactSearch(body).result ?? {}
        } catch (error) {
          // 404: no contact has any of these addresses, so there is nothing to delete.
          if (statusOf((error as AdapterError).cause) === 404) return
          throw error
        }
        const ids = Object.values(found).flatMap((r) => (r.contact?.id ? [r.contact.id] : []))
        if (ids.length > 0)
          await call({ method: "DELETE", url: "/v3/marketing/contacts", qs: { ids: ids.join(",") } })
      },
    },
    (gate): SendGridMessenger => {
      const SOURCES: Readonly<Record<string, string>> = {
        unsubscribe: "sendgrid-unsubscribe",
        group_unsubscribe: "sendgrid-group-unsubscribe",
        spamreport: "sendgrid-spamreport",
      }
      // One opt-out event: an unsubscribe or spam report stops every email purpose, a group unsubscribe the group's.
      const recordOptOut = async (event: SendGridEvent, now: () => number): Promise<number> => {
        const source = SOURCES[event.event ?? ""]
        const tenant = event.consentkit_tenant
        if (!source || !tenant || !event.email) return 0
        const kit = gate.kit
        const subject =
          event.consentkit_subject ??
          (await kit.resolveAlias(tenant, { kind: "email", value: event.email.toLowerCase() }))
        if (!subject) return 0
        const purposes: Array<string | undefined> =
          event.event === "group_unsubscribe" && typeof event.asm_group_id === "number"
            ? kit.policy.purposeIds.filter(
                (p: string) =>
                  kit.policy.purposes.get(p)!.channels.includes(channel) &&
                  targetOf(p) === event.asm_group_id,
              )
            : [undefined]
        // SendGrid stamps whole seconds: that second is passed on as is (no milliseconds made up),
        // unless the sender's clock is ahead of ours.
        const occurredAt = new Date(Math.min((event.timestamp ?? now() / 1000) * 1000, now()))
        for (const purpose of purposes)
          await kit.optOut({
            tenant,
            subject,
            channel,
            source,
            ...(purpose !== undefined ? { purpose } : {}),
            occurredAt,
            ...(event.sg_event_id
              ? { idempotencyKey: `sendgrid:${event.sg_event_id}:${purpose ?? "*"}` }
              : {}),
            evidence: {
              metadata: {
                sgEventId: event.sg_event_id ?? null,
                asmGroupId: event.asm_group_id ?? null,
                // The event's own time as SendGrid sent it, in seconds.
                sgTimestamp: event.timestamp ?? null,
              },
            },
          })
        return purposes.length
      }

      return {
        send: async ({ tenant, subject, purpose, message }) => {
          const decision = await gate.assertSend({ tenant, subject, channel, purpose })
          const to = await addressOf(tenant, subject)
          if (!to)
            throw new RecipientNotFound({
              message: `no email address for subject "${subject}" of tenant "${tenant}"`,
              tenant,
              subject,
              channel,
            })
          const target = targetOf(purpose)
          const content = [
            ...(message.text !== undefined ? [{ type: "text/plain", value: message.text }] : []),
            ...(message.html !== undefined ? [{ type: "text/html", value: message.html }] : []),
          ]
          const [response] = await client().request({
            method: "POST",
            url: "/v3/mail/send",
            body: {
              personalizations: [
                {
                  to: [{ email: to }],
                  ...(message.dynamicTemplateData
                    ? { dynamic_template_data: message.dynamicTemplateData }
                    : {}),
                  // Echoed in event webhooks, so an unsubscribe made at SendGrid finds its way back to the ledger.
                  custom_args: {
                    consentkit_tenant: tenant,
                    consentkit_subject: subject,
                    consentkit_purpose: purpose,
                  },
                },
              ],
              from,
              ...(message.subject !== undefined ? { subject: message.subject } : {}),
              ...(content.length > 0 ? { content } : {}),
              ...(message.templateId ? { template_id: message.templateId } : {}),
              ...(message.categories ? { categories: [...message.categories] } : {}),
              // With a group, SendGrid enforces that group's suppressions itself and adds its unsubscribe link.
              ...(target !== "global" ? { asm: { group_id: target } } : {}),
            },
          })
          const id = response.headers["x-message-id"]
          return { messageId: typeof id === "string" ? id : null, to, decision }
        },
        eventWebhook: (webhook) => {
          const key = verificationKey(webhook.publicKey)
          const maxAgeSeconds = webhook.maxAgeSeconds ?? DEFAULT_EVENT_WEBHOOK_MAX_AGE_SECONDS
          if (!(maxAgeSeconds > 0)) throw new Error("eventWebhook: maxAgeSeconds must be a positive number")
          const now = webhook.now ?? Date.now
          return {
            method: "POST",
            path: webhook.path,
            handle: async (request) => {
              const body = await request.text()
              const signature = request.headers.get("x-twilio-email-event-webhook-signature")
              const timestamp = request.headers.get("x-twilio-email-event-webhook-timestamp")
              if (
                !signature ||
                !timestamp ||
                !/^\d{1,12}$/.test(timestamp) ||
                !verify("sha256", Buffer.from(timestamp + body), key, Buffer.from(signature, "base64"))
              )
                return new Response("signature verification failed", { status: 403 })
              // The timestamp is signed with the body, so checking it after the signature makes replays expire.
              if (Math.abs(now() / 1000 - Number(timestamp)) > maxAgeSeconds)
                return new Response("signature expired", { status: 403 })
              let events: ReadonlyArray<SendGridEvent>
              try {
                events = decodeEvents(body)
              } catch {
                return new Response("expected a JSON array of events", { status: 400 })
              }
              let recorded = 0
              for (const event of events) recorded += await recordOptOut(event, now)
              return Response.json({ recorded })
            },
          }
        },
      }
    },
  )
}
