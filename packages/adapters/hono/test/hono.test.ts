import type { AddressInfo } from "node:net"
import { consentMiddleware } from "@consentkit/adapter-hono"
import { httpConformance } from "@consentkit/http/testing"
import { serve } from "@hono/node-server"
import { Hono } from "hono"

httpConformance("hono", async (kit, options) => {
  const app = new Hono()
  app.use(consentMiddleware(kit, options))
  app.get("/app/ping", (c) => c.text("pong"))
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) =>
        resolve({ server: s, port: info.port }),
      )
    },
  )
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
})
