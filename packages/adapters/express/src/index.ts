/**
 * @consentkit/adapter-express: the consentkit web handler as one Express 5 middleware. It only
 * translates between Express and Web `Request`/`Response`; every route and rule lives in
 * `@consentkit/http`.
 *
 * @since 0.1.0
 */
import { type ConsentHandler, createHandler, type HandlerOptions, type Kit } from "@consentkit/http"
import { sendWebResponse, toWebRequest } from "@consentkit/http/node"
import type { Request as ExpressRequest, RequestHandler } from "express"

export type { CollectedEvent, HandlerOptions, Kit, Route, RouteContext } from "@consentkit/http"
export { operatorToken } from "@consentkit/http"

/** The body an Express body parser already read, as bytes or text; undefined when the stream is untouched. */
const parsedBody = (req: ExpressRequest): string | Uint8Array | undefined => {
  const body: unknown = req.body
  if (body === undefined) return undefined
  if (typeof body === "string" || body instanceof Uint8Array) return body
  return JSON.stringify(body)
}

/** The middleware, with the handler it serves. */
export type ConsentMiddleware = RequestHandler & { readonly handler: ConsentHandler }

/**
 * Serves the consent routes (and `/.well-known/gpc.json`) and passes every other request on.
 * Paths are matched on `originalUrl`, so mount it on the app (`app.use(consentMiddleware(...))`)
 * and give `basePath` the full path. The scheme and host come from Express (`trust proxy` applies).
 *
 * @example
 * ```ts
 * import express from "express"
 * import { consentMiddleware } from "@consentkit/adapter-express"
 *
 * const app = express()
 * app.use(consentMiddleware(kit, { tenant: "siamtea", identify: (request) => sessionCustomer(request) }))
 * app.listen(3000)
 * ```
 */
export const consentMiddleware = (kit: Kit, options: HandlerOptions): ConsentMiddleware => {
  const handler = createHandler(kit, options)
  const middleware: RequestHandler = (req, res, next) => {
    const pathname = req.originalUrl.split("?")[0] ?? "/"
    if (!handler.owns(pathname)) return next()
    const request = toWebRequest(req, {
      body: parsedBody(req),
      origin: `${req.protocol}://${req.get("host") ?? "localhost"}`,
    })
    handler(request)
      .then((response) => sendWebResponse(res, response))
      .catch(next)
  }
  return Object.assign(middleware, { handler })
}
