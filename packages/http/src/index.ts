/**
 * @consentkit/http: the consentkit web handler, written once over Web `Request`/`Response`.
 * Framework adapters (`@consentkit/adapter-express`, `-hono`, `-fastify`) only translate to it;
 * `@consentkit/http/node` bridges Node's `http` objects; `@consentkit/http/testing` is the suite
 * every framework adapter runs.
 *
 * @since 0.1.0
 */
export {
  type CollectedEvent,
  type ConsentHandler,
  createHandler,
  type HandlerOptions,
  type IabOptions,
  type Kit,
  type Route,
  type RouteContext,
} from "./handler.js"
export { MIN_OPERATOR_TOKEN_LENGTH, operatorToken } from "./operatorToken.js"
