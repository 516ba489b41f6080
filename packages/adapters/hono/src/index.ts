/**
 * @consentkit/adapter-hono: the consentkit web handler as one Hono 4 middleware. Hono speaks Web
 * `Request`/`Response` natively, so this only routes; every route and rule lives in
 * `@consentkit/http`.
 *
 * @since 0.1.0
 */
import { type ConsentHandler, createHandler, type HandlerOptions, type Kit } from "@consentkit/http"
import type { MiddlewareHandler } from "hono"

export type { CollectedEvent, HandlerOptions, Kit, Route, RouteContext } from "@consentkit/http"
export { operatorToken } from "@consentkit/http"

/** The middleware, with the handler it serves. */
export type ConsentMiddleware = MiddlewareHandler & { readonly handler: ConsentHandler }

/**
 * Serves the consent routes (and `/.well-known/gpc.json`) and passes every other request on.
 * Register it before anything that reads the body (the handler reads the raw request).
 *
 * @example
 * ```ts
 * import { Hono } from "hono"
 * import { consentMiddleware } from "@consentkit/adapter-hono"
 *
 * const app = new Hono()
 * app.use(consentMiddleware(kit, { tenant: "siamtea", identify: (request) => sessionCustomer(request) }))
 * export default app
 * ```
 */
export const consentMiddleware = (kit: Kit, options: HandlerOptions): ConsentMiddleware => {
  const handler = createHandler(kit, options)
  const middleware: MiddlewareHandler = async (c, next) => {
    if (!handler.owns(new URL(c.req.url).pathname)) return next()
    return handler(c.req.raw)
  }
  return Object.assign(middleware, { handler })
}
