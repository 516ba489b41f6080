import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { createHandler } from "@consentkit/http"
import { sendWebResponse, toWebRequest } from "@consentkit/http/node"
import { httpConformance } from "@consentkit/http/testing"

// The handler on plain node:http through the Node bridge the Express and Fastify adapters reuse.
httpConformance("node:http", async (kit, options) => {
  const handler = createHandler(kit, options)
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost")
    if (!handler.owns(url.pathname)) {
      res.writeHead(url.pathname === "/app/ping" ? 200 : 404, { "content-type": "text/plain" })
      res.end(url.pathname === "/app/ping" ? "pong" : "not found")
      return
    }
    handler(toWebRequest(req))
      .then((response) => sendWebResponse(res, response))
      .catch((error) => {
        res.statusCode = 500
        res.end(String(error))
      })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
})
