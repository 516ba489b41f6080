import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"

/** One Measurement Protocol request as received. */
export interface ReceivedCollect {
  readonly measurementId: string
  readonly body: {
    readonly client_id: string
    readonly user_id?: string
    readonly consent?: { readonly ad_user_data: string; readonly ad_personalization: string }
    readonly events: Array<{ readonly name: string; readonly params?: Record<string, unknown> }>
  }
}

/** What the local Google received. */
export interface Ga4Log {
  readonly collects: Array<ReceivedCollect>
  readonly deletions: Array<{
    readonly property: string
    readonly authorization: string
    readonly body: Record<string, string>
  }>
  /** User Deletion API `userDeletionRequests:upsert` calls (bearer token, `analytics#userDeletionRequest`). */
  readonly upserts: Array<{ readonly authorization: string; readonly body: Record<string, any> }>
  readonly unexpected: Array<string>
}

const readJson = async (req: IncomingMessage): Promise<any> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString("utf8"))
}

/**
 * A local Google on 127.0.0.1: the Measurement Protocol's `POST /mp/collect?measurement_id&api_secret`
 * (JSON body, `204 No Content`) and the Admin API's `POST /v1alpha/properties/{id}:submitUserDeletion`
 * (bearer token, one of userId / clientId / appInstanceId / userProvidedData, `{ deletionRequestTime }`).
 */
export const startGa4 = async (options: { measurementId: string; apiSecret: string; token: string }) => {
  const log: Ga4Log = { collects: [], deletions: [], upserts: [], unexpected: [] }
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const reply = (status: number, json?: unknown) => {
      res.writeHead(status, json === undefined ? {} : { "content-type": "application/json" })
      res.end(json === undefined ? undefined : JSON.stringify(json))
    }
    if (req.method === "POST" && url.pathname === "/mp/collect") {
      const body = await readJson(req)
      // Google answers 2xx even for a wrong secret; refusing here catches a misconfigured adapter in tests.
      if (url.searchParams.get("api_secret") !== options.apiSecret)
        return reply(403, { error: "bad api_secret" })
      log.collects.push({ measurementId: url.searchParams.get("measurement_id") ?? "", body })
      return reply(204)
    }
    const deletion = /^\/v1alpha\/properties\/([^/:]+):submitUserDeletion$/.exec(
      decodeURIComponent(url.pathname),
    )
    if (req.method === "POST" && deletion) {
      const body = await readJson(req)
      if (req.headers.authorization !== `Bearer ${options.token}`) {
        return reply(401, {
          error: {
            code: 401,
            message: "Request had invalid authentication credentials.",
            status: "UNAUTHENTICATED",
          },
        })
      }
      const fields = ["userId", "clientId", "appInstanceId", "userProvidedData"].filter((f) => f in body)
      if (fields.length !== 1) {
        return reply(400, {
          error: {
            code: 400,
            message: "exactly one user identifier is required",
            status: "INVALID_ARGUMENT",
          },
        })
      }
      log.deletions.push({ property: deletion[1]!, authorization: req.headers.authorization, body })
      return reply(200, { deletionRequestTime: new Date().toISOString() })
    }
    if (req.method === "POST" && url.pathname === "/analytics/v3/userDeletion/userDeletionRequests:upsert") {
      const body = await readJson(req)
      if (req.headers.authorization !== `Bearer ${options.token}`) {
        return reply(401, {
          error: {
            code: 401,
            message: "Request had invalid authentication credentials.",
            status: "UNAUTHENTICATED",
          },
        })
      }
      const target = ["webPropertyId", "propertyId", "firebaseProjectId"].filter((f) => f in body)
      const types = ["CLIENT_ID", "USER_ID", "APP_INSTANCE_ID"]
      if (
        body.kind !== "analytics#userDeletionRequest" ||
        target.length !== 1 ||
        !types.includes(body.id?.type) ||
        typeof body.id?.userId !== "string"
      ) {
        return reply(400, {
          error: { code: 400, message: "Invalid userDeletionRequest", status: "INVALID_ARGUMENT" },
        })
      }
      log.upserts.push({ authorization: req.headers.authorization, body })
      return reply(200, { ...body, deletionRequestTime: new Date().toISOString() })
    }
    log.unexpected.push(`${req.method} ${url.pathname}`)
    reply(404, { error: { code: 404, message: "Not Found", status: "NOT_FOUND" } })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    log,
    /** Event names received for a GA user id, in arrival order. */
    received: (userId: string) =>
      log.collects.filter((c) => c.body.user_id === userId).flatMap((c) => c.body.events.map((e) => e.name)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
