import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { gunzipSync } from "node:zlib"

/** One message as the batch endpoint received it. */
export interface ReceivedMessage {
  readonly type: string
  readonly event?: string
  readonly userId?: string
  readonly anonymousId?: string
  readonly properties?: Record<string, unknown>
  readonly context?: Record<string, any>
}

/** What the local provider received. */
export interface SegmentLog {
  readonly batches: Array<{ readonly writeKey: string; readonly messages: Array<ReceivedMessage> }>
  readonly regulations: Array<{
    readonly path: string
    readonly authorization: string
    readonly body: Record<string, any>
  }>
  readonly unexpected: Array<string>
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const raw = Buffer.concat(chunks)
  return req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw
}

/**
 * A local Segment on 127.0.0.1: the tracking API's `/v1/batch` (write key as Basic auth user,
 * `{ batch, writeKey, sentAt }` body, `{"success":true}` reply; RudderStack's data plane takes the
 * same), the Public API's `POST /regulations` and `/regulations/sources/:id` (bearer token, its
 * regulation and subject types, `{ data: { regulateId } }` reply) and RudderStack's `POST /v2/regulations`.
 */
export const startSegment = async (options: { writeKey: string; token: string }) => {
  const log: SegmentLog = { batches: [], regulations: [], unexpected: [] }
  let regulations = 0
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const body = await readBody(req)
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(json))
    }
    if (req.method === "POST" && url.pathname === "/v1/batch") {
      const expected = `Basic ${Buffer.from(`${options.writeKey}:`).toString("base64")}`
      if (req.headers.authorization !== expected)
        return reply(401, { success: false, message: "Invalid write key" })
      const payload = JSON.parse(body.toString("utf8")) as { writeKey: string; batch: Array<ReceivedMessage> }
      log.batches.push({ writeKey: payload.writeKey, messages: payload.batch })
      return reply(200, { success: true })
    }
    const isRegulation =
      req.method === "POST" &&
      /^\/(regulations|regulations\/sources\/[^/]+|v2\/regulations)$/.test(url.pathname)
    if (isRegulation) {
      if (req.headers.authorization !== `Bearer ${options.token}`) {
        return reply(401, { errors: [{ type: "unauthorized", message: "Unauthorized" }] })
      }
      const parsed = JSON.parse(body.toString("utf8")) as Record<string, any>
      log.regulations.push({ path: url.pathname, authorization: req.headers.authorization, body: parsed })
      regulations++
      if (url.pathname === "/v2/regulations")
        return reply(201, { id: `reg-${regulations}`, regulationType: parsed.regulationType })
      // The Public API's regulation types; anything else is a validation error.
      const TYPES = [
        "DELETE_INTERNAL",
        "DELETE_ONLY",
        "SUPPRESS_ONLY",
        "SUPPRESS_WITH_DELETE",
        "SUPPRESS_WITH_DELETE_INTERNAL",
        "UNSUPPRESS",
      ]
      if (
        !TYPES.includes(parsed.regulationType) ||
        !["USER_ID", "ANONYMOUS_ID"].includes(parsed.subjectType)
      ) {
        return reply(422, {
          errors: [{ type: "validation", message: "invalid regulationType or subjectType" }],
        })
      }
      if (!Array.isArray(parsed.subjectIds) || parsed.subjectIds.length === 0) {
        return reply(422, { errors: [{ type: "validation", message: "subjectIds is required" }] })
      }
      return reply(200, { data: { regulateId: `regulate-${regulations}` } })
    }
    log.unexpected.push(`${req.method} ${url.pathname}`)
    reply(404, { errors: [{ type: "not-found", message: "Not found" }] })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const messages = () => log.batches.flatMap((b) => b.messages)
  return {
    url,
    log,
    messages,
    /** Track event names received for a user id, in arrival order. */
    received: (userId: string) =>
      messages()
        .filter((m) => m.type === "track" && m.userId === userId)
        .map((m) => m.event!),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
