/**
 * A route any web framework can mount: `@consentkit/http`'s `createHandler({ routes })` takes them,
 * and the adapters that receive webhooks (LINE unfollow, SendGrid events, SMS inbound, one-click
 * unsubscribe) return them.
 *
 * @since 0.2.0
 */

/** What a route receives besides the request. */
export interface RouteContext {
  /** Values of `:name` segments in the route's path. */
  readonly params: Readonly<Record<string, string>>
  /** The tenant the handler resolved for this request. */
  readonly tenant: string
}

/** A method, a path relative to the handler's base path (with `:name` segments), and a handler. */
export interface Route<Context extends RouteContext = RouteContext> {
  readonly method: string
  readonly path: string
  readonly handle: (request: Request, context: Context) => Promise<Response>
  /** The largest body this route reads (e.g. a webhook's provider limit); the handler's limit otherwise. */
  readonly maxBodyBytes?: number
}
