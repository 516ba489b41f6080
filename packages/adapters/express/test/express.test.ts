import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { consentMiddleware } from "@consentkit/adapter-express"
import type { HandlerOptions, Kit } from "@consentkit/http"
import { httpConformance } from "@consentkit/http/testing"
import express from "express"

const start = (mount: (app: express.Express) => void) => async (kit: Kit, options: HandlerOptions) => {
  const app = express()
  mount(app)
  app.use(consentMiddleware(kit, options))
  app.get("/app/ping", (_req, res) => {
    res.type("text/plain").send("pong")
  })
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

httpConformance(
  "express",
  start(() => undefined),
)

// Apps often parse bodies globally; the consent routes must behave the same behind a text parser.
httpConformance(
  "express behind express.text()",
  start((app) => app.use(express.text({ type: "*/*", limit: "1mb" }))),
)
