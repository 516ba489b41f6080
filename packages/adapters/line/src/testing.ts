/**
 * @consentkit/adapter-line/testing: a local server on 127.0.0.1 that behaves like the LINE
 * Messaging API for what the messenger uses (push, multicast, narrowcast, broadcast, upload
 * audiences), records what it delivered per user, and signs webhook bodies like LINE does.
 *
 * Modelled on LINE's Messaging API reference: bearer-token auth (401), 400 JSON errors with
 * `details`, push → 200 `{ sentMessages }`, multicast/broadcast → 200 `{}`, narrowcast → 202 with
 * `X-Line-Request-Id`, delivered asynchronously (`settle()`), audiences evaluated at delivery
 * time and refused under 50 users (progress `errorCode: 4`); upload audiences only grow. Sends
 * honour `X-Line-Retry-Key` as LINE does: a key whose request was accepted is not delivered again,
 * the repeat gets 409 with `X-Line-Accepted-Request-Id` (and, for push, the first `sentMessages`).
 *
 * @since 0.1.0
 */
import { createHmac, randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** One API request the server received. */
export interface LineRequest {
  readonly method: string
  readonly path: string
  /** The parsed JSON body, as sent (narrow it to what the test expects). */
  readonly body: unknown
  readonly retryKey: string | null
}

/** An upload audience held by the server. */
export interface LineAudience {
  readonly audienceGroupId: number
  readonly description: string
  readonly userIds: ReadonlySet<string>
}

/** A narrowcast request and what became of it. */
export interface LineNarrowcast {
  readonly requestId: string
  /** The parsed JSON body, as sent. */
  readonly body: unknown
  phase: "waiting" | "succeeded" | "failed"
  errorCode?: number
  delivered: ReadonlyArray<string>
}

/** A running local LINE API. */
export interface LocalLine {
  /** Pass as `baseURL`. */
  readonly url: string
  readonly requests: ReadonlyArray<LineRequest>
  /** Text (or `[type]`) of every message delivered to a user, oldest first. */
  readonly delivered: (userId: string) => ReadonlyArray<string>
  readonly audiences: ReadonlyMap<number, LineAudience>
  readonly deletedAudiences: ReadonlyArray<number>
  readonly narrowcasts: ReadonlyArray<LineNarrowcast>
  /** Users who follow the account (broadcast and narrowcast reach only them). */
  readonly follow: (...userIds: ReadonlyArray<string>) => void
  /** Processes waiting narrowcasts now, as LINE does some time after accepting them. */
  readonly settle: () => void
  /** The next accepted request to `path` is carried out, then its connection is cut before any answer (a lost response). */
  readonly loseNextAnswer: (path: string) => void
  /** The next accepted request to `path` is carried out and answered with its usual status but this raw body (e.g. `""` or `"{}"`). */
  readonly nextAnswerBody: (path: string, raw: string) => void
  /** Signs a webhook body with a channel secret: the `x-line-signature` header LINE would send. */
  readonly sign: (body: string, channelSecret: string) => string
  readonly close: () => Promise<void>
}

const isUserId = (value: unknown): value is string =>
  typeof value === "string" && /^U[0-9a-f]{32}$/.test(value)

/** A message object as far as the server reads it. */
interface Message {
  readonly type: string
  readonly text?: unknown
}

/** A field of a JSON object, or undefined for anything else. */
const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined

const summary = (message: Message) => (message.type === "text" ? String(message.text) : `[${message.type}]`)

class BadRequest extends Error {
  constructor(
    readonly property: string,
    message: string,
  ) {
    super(message)
  }
}

const checkMessages = (messages: unknown, max = 5): ReadonlyArray<Message> => {
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > max)
    throw new BadRequest("messages", `Size must be between 1 and ${max}`)
  const checked: Array<Message> = []
  for (const m of messages) {
    const type = field(m, "type")
    if (typeof type !== "string") throw new BadRequest("messages", "May not be empty")
    checked.push({ type, text: field(m, "text") })
  }
  return checked
}

/** The user ids of an upload request's `audiences: [{ id }]`. */
const audienceIds = (body: unknown): Array<unknown> => {
  const list = field(body, "audiences") ?? []
  if (!Array.isArray(list)) throw new BadRequest("audiences", "invalid audiences")
  return list.map((a: unknown) => field(a, "id"))
}

/** The sends that take `X-Line-Retry-Key`; LINE refuses it on other endpoints. */
const SENDS: ReadonlySet<string> = new Set([
  "/v2/bot/message/push",
  "/v2/bot/message/multicast",
  "/v2/bot/message/narrowcast",
  "/v2/bot/message/broadcast",
])
const RETRY_KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const parse = (raw: string): unknown => {
  try {
    return raw ? JSON.parse(raw) : undefined
  } catch {
    return undefined
  }
}

const userIds = (ids: ReadonlyArray<unknown>): ids is ReadonlyArray<string> => ids.every(isUserId)

/** Starts the local LINE API; `channelAccessToken` is the only token it accepts. */
export const localLine = async (options: { readonly channelAccessToken: string }): Promise<LocalLine> => {
  const requests: Array<LineRequest> = []
  const inbox = new Map<string, Array<string>>()
  const audiences = new Map<number, { audienceGroupId: number; description: string; userIds: Set<string> }>()
  const deletedAudiences: Array<number> = []
  const narrowcasts: Array<LineNarrowcast> = []
  const friends = new Set<string>()
  let nextAudience = 1_000_000
  // Retry keys of accepted sends → the accepted request's id and answer (LINE keeps them 24 hours).
  const accepted = new Map<string, { readonly requestId: string; readonly payload: unknown }>()
  const lose = new Set<string>()
  const bodies = new Map<string, string>()

  const deliver = (userId: string, messages: ReadonlyArray<Message>) => {
    const list = inbox.get(userId) ?? []
    for (const m of messages) list.push(summary(m))
    inbox.set(userId, list)
  }

  // Evaluates a recipient object over the friends now; undefined audience ids fail like LINE does.
  const evaluate = (recipient: unknown, tooSmall: Array<number>): Set<string> => {
    if (!recipient) return new Set(friends)
    const type = field(recipient, "type")
    const list = (key: string): ReadonlyArray<unknown> => {
      const value = field(recipient, key)
      return Array.isArray(value) ? value : []
    }
    if (type === "audience") {
      const audience = audiences.get(Number(field(recipient, "audienceGroupId")))
      if (!audience) throw new BadRequest("recipient.audienceGroupId", "audience not found")
      if (audience.userIds.size < 50) tooSmall.push(audience.audienceGroupId)
      return new Set([...audience.userIds].filter((u) => friends.has(u)))
    }
    if (type === "operator") {
      let set: Set<string> | undefined
      if (field(recipient, "and"))
        for (const r of list("and")) {
          const next = evaluate(r, tooSmall)
          set = set ? new Set([...set].filter((u) => next.has(u))) : next
        }
      if (field(recipient, "or")) {
        const union = new Set<string>(set ?? [])
        for (const r of list("or")) for (const u of evaluate(r, tooSmall)) union.add(u)
        set = union
      }
      const not = field(recipient, "not")
      if (not) {
        const excluded = evaluate(not, tooSmall)
        set = new Set([...(set ?? friends)].filter((u) => !excluded.has(u)))
      }
      return set ?? new Set()
    }
    throw new BadRequest("recipient.type", `unsupported recipient type ${String(type)}`)
  }

  const settle = () => {
    for (const n of narrowcasts) {
      if (n.phase !== "waiting") continue
      const tooSmall: Array<number> = []
      const users = evaluate(field(n.body, "recipient"), tooSmall)
      if (tooSmall.length > 0) {
        n.phase = "failed"
        n.errorCode = 4
        continue
      }
      const max = field(field(n.body, "limit"), "max")
      const targets = [...users].slice(0, typeof max === "number" ? max : undefined)
      for (const u of targets) deliver(u, checkMessages(field(n.body, "messages")))
      n.delivered = targets
      n.phase = "succeeded"
    }
  }

  const route = (req: IncomingMessage, body: unknown, res: ServerResponse): [number, unknown] => {
    const url = new URL(req.url ?? "/", "http://line.local")
    const path = url.pathname
    const key = `${req.method} ${path}`
    if (key === "POST /v2/bot/message/push") {
      const to = field(body, "to")
      if (!isUserId(to)) throw new BadRequest("to", "The value for the 'to' field is not valid")
      const messages = checkMessages(field(body, "messages"))
      deliver(to, messages)
      return [
        200,
        {
          sentMessages: messages.map(() => ({
            id: String(Date.now()) + String(Math.random()).slice(2, 8),
            quoteToken: randomUUID(),
          })),
        },
      ]
    }
    if (key === "POST /v2/bot/message/multicast") {
      const to = field(body, "to")
      if (!Array.isArray(to) || to.length === 0 || to.length > 500)
        throw new BadRequest("to", "Size must be between 1 and 500")
      if (!userIds(to)) throw new BadRequest("to", "The value for the 'to' field is not valid")
      const messages = checkMessages(field(body, "messages"))
      for (const u of to) deliver(u, messages)
      return [200, {}]
    }
    if (key === "POST /v2/bot/message/broadcast") {
      const messages = checkMessages(field(body, "messages"))
      for (const u of friends) deliver(u, messages)
      return [200, {}]
    }
    if (key === "POST /v2/bot/message/narrowcast") {
      checkMessages(field(body, "messages"))
      evaluate(field(body, "recipient"), [])
      const requestId = randomUUID()
      narrowcasts.push({ requestId, body, phase: "waiting", delivered: [] })
      res.setHeader("x-line-request-id", requestId)
      return [202, {}]
    }
    if (key === "GET /v2/bot/message/progress/narrowcast") {
      settle()
      const n = narrowcasts.find((x) => x.requestId === url.searchParams.get("requestId"))
      if (!n) throw new BadRequest("requestId", "Not found")
      return [
        200,
        {
          phase: n.phase,
          errorCode: n.errorCode,
          successCount: n.delivered.length,
          acceptedTime: new Date().toISOString(),
        },
      ]
    }
    if (key === "POST /v2/bot/audienceGroup/upload") {
      const description = field(body, "description")
      if (typeof description !== "string" || description.length === 0 || description.length > 120)
        throw new BadRequest("description", "Size must be between 1 and 120")
      const ids = audienceIds(body)
      if (ids.length > 10_000 || !userIds(ids)) throw new BadRequest("audiences", "invalid audiences")
      const audienceGroupId = nextAudience++
      audiences.set(audienceGroupId, { audienceGroupId, description, userIds: new Set(ids) })
      return [
        202,
        {
          audienceGroupId,
          createRoute: "MESSAGING_API",
          type: "UPLOAD",
          description,
          created: Math.floor(Date.now() / 1000),
          permission: "READ_WRITE",
          expireTimestamp: Math.floor(Date.now() / 1000) + 180 * 86_400,
          isIfaAudience: false,
        },
      ]
    }
    if (key === "PUT /v2/bot/audienceGroup/upload") {
      const audience = audiences.get(Number(field(body, "audienceGroupId")))
      if (!audience) throw new BadRequest("audienceGroupId", "AUDIENCE_GROUP_NOT_FOUND")
      const ids = audienceIds(body)
      if (ids.length === 0 || ids.length > 10_000 || !userIds(ids))
        throw new BadRequest("audiences", "invalid audiences")
      for (const id of ids) audience.userIds.add(id)
      return [202, {}]
    }
    const audienceMatch = /^\/v2\/bot\/audienceGroup\/(\d+)$/.exec(path)
    if (audienceMatch && req.method === "DELETE") {
      const id = Number(audienceMatch[1])
      if (!audiences.delete(id)) throw new BadRequest("audienceGroupId", "AUDIENCE_GROUP_NOT_FOUND")
      deletedAudiences.push(id)
      return [202, {}]
    }
    return [404, { message: "Not found" }]
  }

  const server = createServer(async (req, res) => {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString("utf8")
    let status: number
    let payload: unknown
    const path = new URL(req.url ?? "/", "http://line.local").pathname
    const retryKey = (req.headers["x-line-retry-key"] as string | undefined) ?? null
    const retryable = req.method === "POST" && SENDS.has(path)
    const earlier = retryable && retryKey !== null ? accepted.get(`${path} ${retryKey}`) : undefined
    if (req.headers.authorization !== `Bearer ${options.channelAccessToken}`) {
      status = 401
      payload = {
        message: "Authentication failed. Confirm that the access token in the authorization header is valid.",
      }
    } else if (retryKey !== null && (!retryable || !RETRY_KEY.test(retryKey))) {
      status = 400
      payload = { message: "The retry key is invalid" }
    } else if (earlier) {
      // Already accepted: LINE does not send again and points at the first request.
      requests.push({ method: req.method ?? "GET", path: req.url ?? "/", body: parse(raw), retryKey })
      res.setHeader("x-line-accepted-request-id", earlier.requestId)
      status = 409
      payload = {
        message: "The retry key is already accepted",
        ...(path === "/v2/bot/message/push" ? { sentMessages: field(earlier.payload, "sentMessages") } : {}),
      }
    } else {
      try {
        const body: unknown = raw ? JSON.parse(raw) : undefined
        requests.push({ method: req.method ?? "GET", path: req.url ?? "/", body, retryKey })
        ;[status, payload] = route(req, body, res)
      } catch (error) {
        status = 400
        payload =
          error instanceof BadRequest
            ? {
                message: "The request body has 1 error(s)",
                details: [{ message: error.message, property: error.property }],
              }
            : { message: "The request body could not be parsed as JSON" }
      }
    }
    const requestId = String(res.getHeader("x-line-request-id") ?? randomUUID())
    const ok = status >= 200 && status < 300
    if (ok && retryable && retryKey !== null) accepted.set(`${path} ${retryKey}`, { requestId, payload })
    if (ok && lose.delete(path)) {
      req.socket.destroy()
      return
    }
    const replaced = ok ? bodies.get(path) : undefined
    if (replaced !== undefined) bodies.delete(path)
    res.writeHead(status, { "content-type": "application/json", "x-line-request-id": requestId })
    res.end(replaced ?? JSON.stringify(payload))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    delivered: (userId) => inbox.get(userId) ?? [],
    audiences,
    deletedAudiences,
    narrowcasts,
    follow: (...userIds) => {
      for (const u of userIds) friends.add(u)
    },
    settle,
    loseNextAnswer: (path) => {
      lose.add(path)
    },
    nextAnswerBody: (path, raw) => {
      bodies.set(path, raw)
    },
    sign: (body, channelSecret) => createHmac("sha256", channelSecret).update(body).digest("base64"),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
