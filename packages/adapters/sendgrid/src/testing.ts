/**
 * @consentkit/adapter-sendgrid/testing: a local server on 127.0.0.1 that behaves like the SendGrid
 * v3 API for what the messenger uses, and records what it delivered.
 *
 * Modelled on SendGrid's v3 reference: bearer auth (401 `{ errors }`); `POST /v3/mail/send` → 202
 * with `X-Message-Id`, accepted but not delivered to globally suppressed addresses or to those
 * suppressed in the mail's `asm.group_id`; global suppressions (`POST` → 201, `DELETE …/{email}` →
 * 204); group suppressions likewise under `/v3/asm/groups/{id}/suppressions`; contacts by email
 * (`POST /v3/marketing/contacts/search/emails` → 200 `{ result }`, 404 when none match) and
 * `DELETE /v3/marketing/contacts?ids=` → 202 `{ job_id }`. Addresses are compared lower-cased.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Schema } from "effect"

/** A field of a JSON value, if it is an object. */
const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined

// The parts of a mail-send body the server reads; a body that does not match is checked field by field below as empty.
const MailSend = Schema.Struct({
  personalizations: Schema.optional(
    Schema.Array(
      Schema.Struct({
        to: Schema.optional(Schema.Array(Schema.Struct({ email: Schema.String }))),
        custom_args: Schema.optional(Schema.Record(Schema.String, Schema.String)),
      }),
    ),
  ),
  from: Schema.optional(Schema.Struct({ email: Schema.optional(Schema.String) })),
  template_id: Schema.optional(Schema.String),
  subject: Schema.optional(Schema.String),
  content: Schema.optional(Schema.Array(Schema.Struct({ type: Schema.String, value: Schema.String }))),
  asm: Schema.optional(Schema.Struct({ group_id: Schema.optional(Schema.Number) })),
  custom_args: Schema.optional(Schema.Record(Schema.String, Schema.String)),
})
const isMailSend = Schema.is(MailSend)

/** One API request the server received. */
export interface SendGridRequest {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  /** The JSON body as sent (narrow it before use). */
  readonly body: unknown
}

/** One mail the server accepted. */
export interface SendGridMail {
  readonly messageId: string
  readonly to: string
  readonly subject: string | undefined
  readonly text: string | undefined
  readonly groupId: number | null
  readonly customArgs: Readonly<Record<string, string>>
  /** False when a suppression list dropped it, as SendGrid does after accepting it. */
  readonly delivered: boolean
}

/** A running local SendGrid API. */
export interface LocalSendGrid {
  /** Pass as `baseUrl`. */
  readonly url: string
  readonly requests: ReadonlyArray<SendGridRequest>
  readonly mails: ReadonlyArray<SendGridMail>
  /** Texts (or subjects) of the mails delivered to an address. */
  readonly delivered: (email: string) => ReadonlyArray<string>
  readonly globalSuppressions: ReadonlySet<string>
  readonly groupSuppressions: (groupId: number) => ReadonlySet<string>
  /** Adds a marketing contact (as an import would); returns its id. */
  readonly addContact: (email: string) => string
  readonly contacts: ReadonlyMap<string, string>
  readonly deletedContactIds: ReadonlyArray<string>
  readonly close: () => Promise<void>
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message)
  }
}

const emailPattern = /^[^@\s]+@[^@\s]+\.[^@\s]+$/

/** Starts the local SendGrid API; `apiKey` is the only key it accepts, `groups` the unsubscribe groups that exist. */
export const localSendGrid = async (options: {
  readonly apiKey: string
  readonly groups?: ReadonlyArray<number>
}): Promise<LocalSendGrid> => {
  const requests: Array<SendGridRequest> = []
  const mails: Array<SendGridMail> = []
  const global = new Set<string>()
  const groups = new Map<number, Set<string>>((options.groups ?? []).map((g) => [g, new Set<string>()]))
  const contacts = new Map<string, string>()
  const deletedContactIds: Array<string> = []

  const emailsOf = (body: unknown): Array<string> => {
    const list = field(body, "recipient_emails")
    if (!Array.isArray(list) || list.length === 0)
      throw new ApiError(400, "recipient_emails is required", "recipient_emails")
    if (!list.every((e) => typeof e === "string" && emailPattern.test(e)))
      throw new ApiError(400, "invalid email address", "recipient_emails")
    return list.map((e: string) => e.toLowerCase())
  }
  const groupOf = (id: string) => {
    const group = groups.get(Number(id))
    if (!group) throw new ApiError(404, "Unsubscribe group not found")
    return group
  }

  const route = (
    method: string,
    path: string,
    query: Record<string, string>,
    raw: unknown,
    res: ServerResponse,
  ): [number, unknown] => {
    if (method === "POST" && path === "/v3/mail/send") {
      const body: typeof MailSend.Type = isMailSend(raw) ? raw : {}
      const personalizations = body.personalizations
      if (!Array.isArray(personalizations) || personalizations.length === 0)
        throw new ApiError(
          400,
          "The personalizations field is required and must have at least one personalization.",
          "personalizations",
        )
      if (!body.from?.email || !emailPattern.test(body.from.email))
        throw new ApiError(400, "The from object must be provided for every email send.", "from")
      if (!body.template_id) {
        if (!body.subject) throw new ApiError(400, "The subject is required.", "subject")
        if (!Array.isArray(body.content) || body.content.length === 0)
          throw new ApiError(
            400,
            "Unless a valid template_id is provided, the content parameter is required.",
            "content",
          )
      }
      const groupId: number | null = body.asm?.group_id ?? null
      if (groupId !== null && !groups.has(groupId))
        throw new ApiError(400, "The asm group_id must be a valid unsubscribe group.", "asm.group_id")
      const messageId = randomUUID().replace(/-/g, "").slice(0, 22)
      for (const p of personalizations) {
        for (const recipient of p.to ?? []) {
          const to = String(recipient.email).toLowerCase()
          const suppressed = global.has(to) || (groupId !== null && groups.get(groupId)!.has(to))
          mails.push({
            messageId,
            to,
            subject: body.subject,
            text: body.content?.find((c) => c.type === "text/plain")?.value,
            groupId,
            customArgs: { ...body.custom_args, ...p.custom_args },
            delivered: !suppressed,
          })
        }
      }
      res.setHeader("x-message-id", messageId)
      return [202, undefined]
    }
    if (method === "POST" && path === "/v3/asm/suppressions/global") {
      const emails = emailsOf(raw)
      for (const e of emails) global.add(e)
      return [201, { recipient_emails: emails }]
    }
    const globalOne = /^\/v3\/asm\/suppressions\/global\/([^/]+)$/.exec(path)
    if (method === "DELETE" && globalOne) {
      global.delete(decodeURIComponent(globalOne[1]!).toLowerCase())
      return [204, undefined]
    }
    const groupAll = /^\/v3\/asm\/groups\/(\d+)\/suppressions$/.exec(path)
    if (method === "POST" && groupAll) {
      const group = groupOf(groupAll[1]!)
      const emails = emailsOf(raw)
      for (const e of emails) group.add(e)
      return [201, { recipient_emails: emails }]
    }
    const groupOne = /^\/v3\/asm\/groups\/(\d+)\/suppressions\/([^/]+)$/.exec(path)
    if (method === "DELETE" && groupOne) {
      groupOf(groupOne[1]!).delete(decodeURIComponent(groupOne[2]!).toLowerCase())
      return [204, undefined]
    }
    if (method === "POST" && path === "/v3/marketing/contacts/search/emails") {
      const emails = field(raw, "emails")
      if (!Array.isArray(emails) || emails.length === 0 || emails.length > 100)
        throw new ApiError(400, "emails must hold 1 to 100 addresses", "emails")
      const result: Record<string, unknown> = {}
      let matched = 0
      for (const e of emails as Array<string>) {
        const id = contacts.get(e.toLowerCase())
        if (id) {
          matched++
          result[e.toLowerCase()] = { contact: { id, email: e.toLowerCase(), list_ids: [], segment_ids: [] } }
        } else result[e.toLowerCase()] = { error: "contact not found" }
      }
      if (matched === 0) throw new ApiError(404, "No contacts found", "emails")
      return [200, { result }]
    }
    if (method === "DELETE" && path === "/v3/marketing/contacts") {
      const ids = (query.ids ?? "").split(",").filter(Boolean)
      if (ids.length === 0 && query.delete_all_contacts !== "true")
        throw new ApiError(400, "either ids or delete_all_contacts must be set", "ids")
      for (const id of ids) {
        deletedContactIds.push(id)
        for (const [email, cid] of contacts) if (cid === id) contacts.delete(email)
      }
      return [202, { job_id: randomUUID() }]
    }
    return [404, { errors: [{ field: null, message: "resource not found" }] }]
  }

  const server = createServer(async (req, res) => {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString("utf8")
    const url = new URL(req.url ?? "/", "http://sendgrid.local")
    let status: number
    let payload: unknown
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
      status = 401
      payload = {
        errors: [
          { field: null, message: "The provided authorization grant is invalid, expired, or revoked" },
        ],
      }
    } else {
      try {
        const body = raw ? JSON.parse(raw) : undefined
        const query = Object.fromEntries(url.searchParams)
        requests.push({ method: req.method ?? "GET", path: url.pathname, query, body })
        ;[status, payload] = route(req.method ?? "GET", url.pathname, query, body, res)
      } catch (error) {
        status = error instanceof ApiError ? error.status : 400
        payload = {
          errors: [
            {
              field: error instanceof ApiError ? error.field : null,
              message: (error as Error).message,
              help: null,
            },
          ],
        }
      }
    }
    if (payload === undefined) {
      res.writeHead(status)
      res.end()
    } else {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(payload))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    mails,
    delivered: (email) =>
      mails.filter((m) => m.delivered && m.to === email.toLowerCase()).map((m) => m.text ?? m.subject ?? ""),
    globalSuppressions: global,
    groupSuppressions: (groupId) => groups.get(groupId) ?? new Set(),
    addContact: (email) => {
      const id = randomUUID()
      contacts.set(email.toLowerCase(), id)
      return id
    },
    contacts,
    deletedContactIds,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
