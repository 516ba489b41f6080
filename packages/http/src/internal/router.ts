/**
 * The route table: a method and a path with `:name` segments, matched segment by segment.
 *
 * @since 0.2.0
 */
import { type BodyLimits, readBody, withBody } from "./body.js"
import { failure } from "./wire.js"

/** A route of the table, its path split into segments. */
export interface Compiled {
  readonly method: string
  readonly segments: ReadonlyArray<string>
  readonly run: (request: Request, params: Record<string, string>) => Promise<Response>
  /** The route's own body limit (e.g. a webhook's), over the handler's. */
  readonly maxBodyBytes?: number
}

export const compile = (
  method: string,
  path: string,
  run: Compiled["run"],
  maxBodyBytes?: number,
): Compiled => ({
  method: method.toUpperCase(),
  segments: path.split("/").filter(Boolean),
  run,
  ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
})

/** The route's `:name` values, or null when the path is not the route's. */
export const match = (route: Compiled, segments: ReadonlyArray<string>): Record<string, string> | null => {
  if (route.segments.length !== segments.length) return null
  const params: Record<string, string> = Object.create(null)
  for (let i = 0; i < segments.length; i++) {
    const want = route.segments[i]!
    const got = segments[i]!
    if (want.startsWith(":")) {
      try {
        params[want.slice(1)] = decodeURIComponent(got)
      } catch {
        return null
      }
    } else if (want !== got) return null
  }
  return params
}

/**
 * Runs the route that matches (its errors answered by `onError`); 405 with `allow` if only the
 * method differs, else 404. The body is read within the route's limits before the route runs.
 */
export const dispatch = async (
  routes: ReadonlyArray<Compiled>,
  request: Request,
  rest: ReadonlyArray<string>,
  pathname: string,
  limits: BodyLimits,
  onError: (error: unknown) => Response,
): Promise<Response> => {
  const method = request.method.toUpperCase()
  const allowed: Array<string> = []
  for (const route of routes) {
    const params = match(route, rest)
    if (!params) continue
    if (route.method !== method) {
      allowed.push(route.method)
      continue
    }
    try {
      if (method === "GET" || method === "HEAD") return await route.run(request, params)
      const body = await readBody(request, {
        maxBytes: route.maxBodyBytes ?? limits.maxBytes,
        timeoutMs: limits.timeoutMs,
      })
      return await route.run(withBody(request, body), params)
    } catch (error) {
      return onError(error)
    }
  }
  if (allowed.length > 0) {
    return new Response(
      JSON.stringify({
        error: { code: "METHOD_NOT_ALLOWED", message: `use ${allowed.join(" or ")}`, issues: [] },
      }),
      {
        status: 405,
        headers: { "content-type": "application/json; charset=utf-8", allow: allowed.join(", ") },
      },
    )
  }
  return failure(404, "NOT_FOUND", `no consent route at ${pathname}`)
}
