/**
 * The shop's API: records consent into PostgreSQL (the dispatchers, other processes, deliver it)
 * and answers the tracker and messenger gates from a replica that NATS keeps current, so a gate
 * read never touches the database.
 *
 *   POST /consents        {"subject":"c-1","decisions":[{"purpose":"marketing.email","action":"withdraw"}]}
 *   GET  /gate/send?subject=c-1&channel=email
 *   GET  /gate/track?subject=c-1&category=analytics
 *   GET  /health
 *
 * Environment: CONSENTKIT_PG_URL and CONSENTKIT_NATS_URL (required), TABLE_PREFIX, ADAPTERS,
 * NATS_STREAM, NATS_SUBJECT_PREFIX, TENANT (default `siamtea`), PORT (default 0: any free port).
 * Prints `listening <port>` once the replica has caught up.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { hostname } from "node:os"
import { subscribeReplica } from "@consentkit/adapter-bus-nats"
import { createConsentKit } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { adapterEnv, shopAdapters } from "./adapters.js"
import { policy, type ShopPurpose } from "./policy.js"

const url = process.env.CONSENTKIT_PG_URL
if (!url) throw new Error("CONSENTKIT_PG_URL is not set")
if (!process.env.CONSENTKIT_NATS_URL) throw new Error("CONSENTKIT_NATS_URL is not set")
const prefix = process.env.TABLE_PREFIX ?? "consentkit_"
const tenant = process.env.TENANT ?? "siamtea"

const opened = await openStore(url, { tablePrefix: prefix, migrate: false, poolSize: 16 })
// The API lists the dispatchers' adapters so its writes enqueue rows for them; it never delivers.
const { adapters, buses, bus } = shopAdapters({
  db: opened.database.db,
  prefix,
  process: "api",
  ...adapterEnv(),
})
const kit = createConsentKit({
  policy,
  store: opened.store,
  // No default: the secret comes from the environment (createConsentKit refuses a weak one).
  secret: process.env.CONSENTKIT_SECRET ?? "",
  adapters,
  buses,
  dispatcher: { autoStart: false },
})
const { replica, ready, close } = await subscribeReplica({
  bus: bus!,
  policy,
  group: `shop-api-${hostname()}-${process.pid}`,
})
await ready

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

const body = async (req: IncomingMessage): Promise<unknown> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}")
}

const server = createServer(async (req, res) => {
  try {
    const u = new URL(req.url ?? "/", "http://api")
    const subject = u.searchParams.get("subject") ?? ""
    if (req.method === "GET" && u.pathname === "/gate/send") {
      const d = replica.send({ tenant, subject, channel: u.searchParams.get("channel") ?? "" })
      return json(res, 200, { allowed: d.allowed, reason: d.reason })
    }
    if (req.method === "GET" && u.pathname === "/gate/track") {
      const d = replica.track({ tenant, subject, category: u.searchParams.get("category") ?? "" })
      return json(res, 200, { allowed: d.allowed, reason: d.reason })
    }
    if (req.method === "POST" && u.pathname === "/consents") {
      const input = (await body(req)) as {
        subject: string
        decisions: Array<{
          purpose: ShopPurpose
          action: "grant" | "deny" | "withdraw"
          noticeVersion?: number
        }>
      }
      const result = await kit.record({
        tenant,
        subject: input.subject,
        source: "preference-center",
        decisions: input.decisions.map((d) => ({ ...d, noticeVersion: d.noticeVersion ?? 1 })),
      })
      return json(res, 200, { commandId: result.commandId, intents: result.intents.length })
    }
    if (req.method === "GET" && u.pathname === "/health") {
      return json(res, 200, { replicaSubjects: replica.size() })
    }
    json(res, 404, { error: "not found" })
  } catch (error) {
    // A bad request (InvalidCommand) is the caller's to fix; anything else is ours.
    if ((error as { _tag?: string } | null)?._tag === "InvalidCommand") {
      return json(res, 400, { error: (error as Error).message })
    }
    json(res, 500, { error: String(error) })
  }
})
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : 0}\n`)
})

const stop = async () => {
  server.close()
  await close()
  await kit.close()
  await bus?.close()
  await opened.close()
  process.exit(0)
}
process.once("SIGTERM", () => void stop())
process.once("SIGINT", () => void stop())
