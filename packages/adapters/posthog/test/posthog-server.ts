import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { gunzipSync } from "node:zlib"

/** One event as PostHog's /batch/ endpoint received it. */
export interface ReceivedEvent {
  readonly event: string
  readonly distinct_id: string
  readonly properties: Record<string, unknown>
}

/** What the local PostHog received. */
export interface PostHogLog {
  readonly batches: Array<{
    readonly apiKey: string
    readonly gzip: boolean
    readonly events: Array<ReceivedEvent>
  }>
  readonly deletions: Array<{
    readonly projectId: string
    readonly authorization: string
    readonly body: Record<string, unknown>
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
 * A local PostHog on 127.0.0.1: the capture API's `/batch/` (gzip bodies, `api_key` in the body,
 * `{"status":"Ok"}` reply) and the private API's `persons/bulk_delete/` (personal API key as a
 * bearer token, `distinct_ids` in the body, a PersonBulkDeleteResponse reply).
 */
export const startPostHog = async (options: { projectToken: string; personalApiKey: string }) => {
  const log: PostHogLog = { batches: [], deletions: [], unexpected: [] }
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const body = await readBody(req)
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(json))
    }
    if (req.method === "POST" && url.pathname === "/batch/") {
      const payload = JSON.parse(body.toString("utf8")) as { api_key: string; batch: Array<ReceivedEvent> }
      if (payload.api_key !== options.projectToken) {
        return reply(401, {
          type: "authentication_error",
          code: "invalid_api_key",
          detail: "Project API key invalid.",
        })
      }
      log.batches.push({
        apiKey: payload.api_key,
        gzip: req.headers["content-encoding"] === "gzip",
        events: payload.batch,
      })
      return reply(200, { status: "Ok" })
    }
    const bulk = /^\/api\/projects\/([^/]+)\/persons\/bulk_delete\/?$/.exec(url.pathname)
    if (req.method === "POST" && bulk) {
      if (req.headers.authorization !== `Bearer ${options.personalApiKey}`) {
        return reply(401, {
          type: "authentication_error",
          code: "not_authenticated",
          detail: "Invalid personal API key.",
        })
      }
      const parsed = JSON.parse(body.toString("utf8")) as { distinct_ids?: Array<string> }
      log.deletions.push({ projectId: bulk[1]!, authorization: req.headers.authorization, body: parsed })
      return reply(202, {
        persons_found: parsed.distinct_ids?.length ?? 0,
        persons_deleted: parsed.distinct_ids?.length ?? 0,
        events_queued_for_deletion: true,
        recordings_queued_for_deletion: true,
      })
    }
    log.unexpected.push(`${req.method} ${url.pathname}`)
    reply(404, { type: "invalid_request", code: "not_found", detail: "Not found." })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    log,
    /** Behaviour events received for a distinct id, in arrival order (person-property `$set` calls are `personSets`). */
    received: (distinctId: string) =>
      log.batches
        .flatMap((b) => b.events)
        .filter((e) => e.distinct_id === distinctId && e.event !== "$set")
        .map((e) => e.event),
    /** The `$set` person properties received for a distinct id, in arrival order. */
    personSets: (distinctId: string) =>
      log.batches
        .flatMap((b) => b.events)
        .filter((e) => e.distinct_id === distinctId && e.event === "$set")
        .map((e) => e.properties.$set as Record<string, unknown>),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
