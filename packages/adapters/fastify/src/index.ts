/**
 * @consentkit/adapter-fastify: the consentkit web handler as one Fastify 5 plugin. It only
 * translates between Fastify and Web `Request`/`Response`; every route and rule lives in
 * `@consentkit/http`.
 *
 * @since 0.1.0
 */
import { createHandler, type HandlerOptions, type Kit } from "@consentkit/http"
import { toWebRequest } from "@consentkit/http/node"
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify"

export type { CollectedEvent, HandlerOptions, Kit, Route, RouteContext } from "@consentkit/http"
export { operatorToken } from "@consentkit/http"

/** Options of the plugin: the kit and the handler's options. */
export interface ConsentPluginOptions extends HandlerOptions {
  readonly kit: Kit
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const

/**
 * Registers the consent routes (and `/.well-known/gpc.json`). Inside the plugin's own context the
 * body is left unread for the handler, which parses and limits it; the app's parsers elsewhere are
 * untouched. Replies go through Fastify, so the app's hooks (CORS, headers) still apply.
 *
 * @example
 * ```ts
 * import Fastify from "fastify"
 * import { consentPlugin } from "@consentkit/adapter-fastify"
 *
 * const app = Fastify()
 * await app.register(consentPlugin, { kit, tenant: "siamtea", identify: (request) => sessionCustomer(request) })
 * await app.listen({ port: 3000 })
 * ```
 */
export const consentPlugin: FastifyPluginAsync<ConsentPluginOptions> = async (
  fastify,
  { kit, ...options },
) => {
  const handler = createHandler(kit, options)
  // The handler reads the raw stream itself, so Fastify's parsers (and their error format) stay out of these routes.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser("*", (_request, _payload, done) => done(null))

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const response = await handler(
      toWebRequest(request.raw, { origin: `${request.protocol}://${request.host}` }),
    )
    reply.code(response.status)
    response.headers.forEach((value, name) => {
      if (name !== "set-cookie") reply.header(name, value)
    })
    const cookies = response.headers.getSetCookie()
    if (cookies.length > 0) reply.header("set-cookie", cookies)
    return reply.send(response.body ? Buffer.from(await response.arrayBuffer()) : null)
  }

  const base = handler.basePath
  fastify.route({ method: [...METHODS], url: base === "" ? "/*" : `${base}/*`, handler: serve })
  if (base !== "") fastify.route({ method: [...METHODS], url: base, handler: serve })
  fastify.route({ method: "GET", url: "/.well-known/gpc.json", handler: serve })
}
