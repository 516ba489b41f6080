/**
 * Local stand-ins for the brand's providers, each a real HTTP server on 127.0.0.1 that the real
 * SDKs and adapters talk to: an analytics collector that speaks PostHog's capture and person
 * deletion APIs (the real posthog-node client sends to it), and the brand's loyalty CRM, which
 * receives consent changes and erasures and can be taken offline to show retries, dead letters and
 * replay. The SMTP server and the LINE-like API come from the messenger adapters' `testing` entries.
 */
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { gunzipSync } from "node:zlib"

/** One event the analytics collector received. */
export interface CollectedEvent {
  readonly event: string
  readonly distinctId: string
  readonly properties: Readonly<Record<string, unknown>>
  readonly receivedAt: Date
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const raw = Buffer.concat(chunks)
  return req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw
}

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const closing = (server: Server) => () =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

/**
 * A PostHog-compatible collector: `POST /batch/` (gzip or plain JSON, `api_key` in the body) and the
 * private API's `POST /api/projects/:id/persons/bulk_delete/` (personal API key as bearer token),
 * which deletes the persons' events as PostHog does.
 */
export const analyticsCollector = async (options: { projectToken: string; personalApiKey: string }) => {
  const events: Array<CollectedEvent> = []
  const deletions: Array<{ readonly distinctIds: ReadonlyArray<string>; readonly at: Date }> = []
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(body))
    }
    try {
      const body = await readBody(req)
      if (req.method === "POST" && url.pathname === "/batch/") {
        const payload = JSON.parse(body.toString("utf8")) as {
          api_key: string
          batch: Array<{ event: string; distinct_id: string; properties?: Record<string, unknown> }>
        }
        if (payload.api_key !== options.projectToken)
          return reply(401, { type: "authentication_error", code: "invalid_api_key" })
        for (const e of payload.batch) {
          events.push({
            event: e.event,
            distinctId: e.distinct_id,
            properties: e.properties ?? {},
            receivedAt: new Date(),
          })
        }
        return reply(200, { status: "Ok" })
      }
      const bulk = /^\/api\/projects\/[^/]+\/persons\/bulk_delete\/?$/.exec(url.pathname)
      if (req.method === "POST" && bulk) {
        if (req.headers.authorization !== `Bearer ${options.personalApiKey}`)
          return reply(401, { type: "authentication_error", code: "not_authenticated" })
        const ids = (JSON.parse(body.toString("utf8")) as { distinct_ids?: Array<string> }).distinct_ids ?? []
        const before = events.length
        for (let i = events.length - 1; i >= 0; i--)
          if (ids.includes(events[i]!.distinctId)) events.splice(i, 1)
        deletions.push({ distinctIds: ids, at: new Date() })
        return reply(202, {
          persons_found: ids.length,
          persons_deleted: ids.length,
          events_deleted: before - events.length,
        })
      }
      reply(404, { type: "invalid_request", code: "not_found" })
    } catch (error) {
      reply(400, { type: "invalid_request", detail: String(error) })
    }
  })
  const url = await listen(server)
  return {
    url,
    events: events as ReadonlyArray<CollectedEvent>,
    deletions: deletions as ReadonlyArray<{ readonly distinctIds: ReadonlyArray<string>; readonly at: Date }>,
    /** Event names received for a distinct id, oldest first. */
    received: (distinctId: string) => events.filter((e) => e.distinctId === distinctId).map((e) => e.event),
    close: closing(server),
  }
}

/** The local analytics collector. */
export type AnalyticsCollector = Awaited<ReturnType<typeof analyticsCollector>>

/** What the CRM holds per customer: their latest consent standing per purpose. */
export interface CrmRecord {
  readonly subject: string
  readonly consents: Record<string, boolean>
  readonly updatedAt: Date
}

/**
 * The brand's loyalty CRM: `PUT /customers/:id/consents` takes consent changes, `DELETE /customers/:id`
 * erases. `setOnline(false)` makes it answer 503, as a CRM in maintenance would.
 */
export const loyaltyCrm = async () => {
  const customers = new Map<string, CrmRecord>()
  const erased: Array<string> = []
  let online = true
  let requests = 0
  const server = createServer(async (req, res) => {
    requests++
    const body = await readBody(req)
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(payload))
    }
    if (!online) return reply(503, { error: "crm is in maintenance" })
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const consents = /^\/customers\/([^/]+)\/consents$/.exec(url.pathname)
    if (req.method === "PUT" && consents) {
      const subject = decodeURIComponent(consents[1]!)
      const changes = JSON.parse(body.toString("utf8")) as {
        changes: Array<{ purpose: string; allowed: boolean }>
      }
      const record = customers.get(subject) ?? { subject, consents: {}, updatedAt: new Date() }
      for (const c of changes.changes) record.consents[c.purpose] = c.allowed
      customers.set(subject, { ...record, updatedAt: new Date() })
      return reply(200, { ok: true })
    }
    const customer = /^\/customers\/([^/]+)$/.exec(url.pathname)
    if (req.method === "DELETE" && customer) {
      const subject = decodeURIComponent(customer[1]!)
      customers.delete(subject)
      erased.push(subject)
      return reply(200, { ok: true })
    }
    reply(404, { error: "not found" })
  })
  const url = await listen(server)
  return {
    url,
    customers: customers as ReadonlyMap<string, CrmRecord>,
    erased: erased as ReadonlyArray<string>,
    get online() {
      return online
    },
    get requests() {
      return requests
    },
    setOnline: (value: boolean) => {
      online = value
    },
    close: closing(server),
  }
}

/** The local loyalty CRM. */
export type LoyaltyCrm = Awaited<ReturnType<typeof loyaltyCrm>>
