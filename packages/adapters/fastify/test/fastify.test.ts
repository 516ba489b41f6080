import { consentPlugin } from "@consentkit/adapter-fastify"
import { httpConformance } from "@consentkit/http/testing"
import Fastify from "fastify"

httpConformance("fastify", async (kit, options) => {
  const app = Fastify()
  await app.register(consentPlugin, { kit, ...options })
  // The app's own routes keep Fastify's JSON parser.
  app.post("/app/echo", async (request) => request.body)
  app.get("/app/ping", async (_request, reply) => reply.type("text/plain").send("pong"))
  const address = await app.listen({ port: 0, host: "127.0.0.1" })
  return { url: address, close: () => app.close() }
})
