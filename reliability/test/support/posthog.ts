import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { gunzipSync } from "node:zlib"

/** An event as PostHog's `/batch/` endpoint stores it. */
export interface StoredEvent {
  readonly event: string
  readonly distinct_id: string
  readonly properties: Record<string, unknown>
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const raw = Buffer.concat(chunks)
  return req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw
}

/**
 * A local PostHog on 127.0.0.1 that keeps what it received, as PostHog would: the capture API's
 * `/batch/` stores each event under its distinct id, and the private API's
 * `persons/bulk_delete/` deletes those persons and their events (as `delete_events: true` asks).
 * What it holds is what the erase test scans.
 */
export const localPostHog = async (options: {
  readonly projectToken: string
  readonly personalApiKey: string
}) => {
  const events: Array<StoredEvent> = []
  const deletions: Array<ReadonlyArray<string>> = []
  const unexpected: Array<string> = []
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const body = await readBody(req)
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(json))
    }
    if (req.method === "POST" && url.pathname === "/batch/") {
      const payload = JSON.parse(body.toString("utf8")) as { api_key: string; batch: Array<StoredEvent> }
      if (payload.api_key !== options.projectToken) return reply(401, { detail: "Project API key invalid." })
      events.push(
        ...payload.batch.map((e) => ({
          event: e.event,
          distinct_id: e.distinct_id,
          properties: e.properties,
        })),
      )
      return reply(200, { status: "Ok" })
    }
    if (req.method === "POST" && /^\/api\/projects\/[^/]+\/persons\/bulk_delete\/?$/.test(url.pathname)) {
      if (req.headers.authorization !== `Bearer ${options.personalApiKey}`) {
        return reply(401, { detail: "Invalid personal API key." })
      }
      const { distinct_ids = [], delete_events } = JSON.parse(body.toString("utf8")) as {
        distinct_ids?: Array<string>
        delete_events?: boolean
      }
      deletions.push(distinct_ids)
      const found = events.filter((e) => distinct_ids.includes(e.distinct_id)).length
      if (delete_events) {
        for (let i = events.length - 1; i >= 0; i--)
          if (distinct_ids.includes(events[i]!.distinct_id)) events.splice(i, 1)
      }
      return reply(202, {
        persons_found: found,
        persons_deleted: found,
        events_queued_for_deletion: !!delete_events,
      })
    }
    unexpected.push(`${req.method} ${url.pathname}`)
    return reply(404, { detail: "Not found." })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    deletions,
    unexpected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
