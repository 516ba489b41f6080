/**
 * The one web handler: a `(request: Request) => Promise<Response>` over a consentkit client. The
 * framework packages only translate to and from it, so every framework serves the same routes with
 * the same behaviour.
 *
 * @since 0.1.0
 */
import { loadIab } from "./internal/iab.js"
import { compile, dispatch } from "./internal/router.js"
import { toResponse } from "./internal/respond.js"
import { makeSession } from "./internal/session.js"
import { json, failure } from "./internal/wire.js"
import { operatorRoutes } from "./routes/operator.js"
import { subjectRoutes } from "./routes/subject.js"
import type { ConsentHandler, HandlerOptions, Kit } from "./types.js"

export type {
  CollectedEvent,
  ConsentHandler,
  HandlerOptions,
  IabOptions,
  Kit,
  Route,
  RouteContext,
} from "./types.js"

const GPC_PATH = "/.well-known/gpc.json"

/**
 * Creates the consent handler.
 *
 * @example
 * ```ts
 * import { createHandler } from "@consentkit/http"
 *
 * const handler = createHandler(kit, {
 *   tenant: "siamtea",
 *   identify: async (request) => (await session(request))?.customerId ?? null,
 *   jurisdiction: (request) => request.headers.get("cf-ipcountry") ?? undefined,
 *   authorizeOperator: async (request) => (await session(request))?.role === "dpo",
 * })
 * const response = await handler(new Request("https://shop.example/consent/state"))
 * ```
 */
export const createHandler = (kit: Kit, options: HandlerOptions): ConsentHandler => {
  const basePath = `/${(options.basePath ?? "/consent").replace(/^\/+|\/+$/g, "")}`.replace(/^\/$/, "")
  const baseSegments = basePath.split("/").filter(Boolean)
  const session = makeSession(kit, options)
  const limits = {
    maxBytes: options.maxBodyBytes ?? 64 * 1024,
    timeoutMs: options.bodyTimeoutMs ?? 10_000,
  }
  // Starts loading @consentkit/iab now; a missing package is reported by the first request that needs it.
  if (options.iab) loadIab().catch(() => {})
  // In match order: the visitor's routes, the operator's, then the host's extra routes.
  const routes = [
    ...subjectRoutes(kit, options, session),
    ...operatorRoutes(kit, options, session),
    ...(options.routes ?? []).map((r) =>
      compile(
        r.method,
        r.path,
        async (request, params) =>
          r.handle(request, { params, tenant: await session.tenantOf(request), kit }),
        r.maxBodyBytes,
      ),
    ),
  ]

  const owns = (pathname: string) =>
    pathname === GPC_PATH ||
    (basePath === "" ? true : pathname === basePath || pathname.startsWith(`${basePath}/`))

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    const method = request.method.toUpperCase()
    if (url.pathname === GPC_PATH) {
      if (method !== "GET" && method !== "HEAD") return failure(405, "METHOD_NOT_ALLOWED", "use GET")
      return json(
        200,
        { gpc: true, ...(options.gpcLastUpdate ? { lastUpdate: options.gpcLastUpdate } : {}) },
        {
          "cache-control": "public, max-age=86400",
        },
      )
    }
    if (!owns(url.pathname)) return failure(404, "NOT_FOUND", `no consent route at ${url.pathname}`)
    const rest = url.pathname.split("/").filter(Boolean).slice(baseSegments.length)
    return dispatch(routes, request, rest, url.pathname, limits, (error) =>
      toResponse(error, request, options.onError),
    )
  }

  return Object.assign(handle, { basePath, owns, visitorOf: session.visitorOf })
}
