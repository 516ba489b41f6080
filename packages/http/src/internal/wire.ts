/** Small pieces of HTTP the handler needs: JSON replies, error bodies, cookies. */

/** One problem with a request, in the shape of core's `InvalidCommand` issues. */
export interface WireIssue {
  readonly code: string
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

/** A JSON response. */
export const json = (status: number, body: unknown, headers: HeadersInit = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  })

/** The error body every refusal uses: `{ error: { code, message, issues } }`. */
export const failure = (
  status: number,
  code: string,
  message: string,
  issues: ReadonlyArray<WireIssue> = [],
) => json(status, { error: { code, message, issues } })

/** A 400 built from issues, worded like core's `InvalidCommand`. */
export const invalid = (issues: ReadonlyArray<WireIssue>): Response =>
  failure(
    400,
    issues[0]?.code ?? "MALFORMED",
    `invalid request: ${issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ")}`,
    issues,
  )

/** Thrown inside the handler to answer with a ready response. */
export class Reply extends Error {
  constructor(readonly response: Response) {
    super(`HTTP ${response.status}`)
  }
}

/** The body as a plain object, or a 400. */
export const objectBody = (body: unknown): Record<string, unknown> => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new Reply(invalid([{ code: "MALFORMED", path: [], message: "the body must be a JSON object" }]))
  }
  return body as Record<string, unknown>
}

/** Cookies of a request. */
export const parseCookies = (header: string | null): Map<string, string> => {
  const cookies = new Map<string, string>()
  if (!header) return cookies
  for (const part of header.split(";")) {
    const eq = part.indexOf("=")
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    if (!cookies.has(name)) {
      try {
        cookies.set(name, decodeURIComponent(part.slice(eq + 1).trim()))
      } catch {
        // A value that is not valid percent-encoding is treated as absent.
      }
    }
  }
  return cookies
}

/** Cookie attributes. */
export interface CookieAttributes {
  readonly maxAgeSeconds: number
  readonly path: string
  readonly domain?: string
  readonly secure: boolean
}

/** A `Set-Cookie` value: always HttpOnly and SameSite=Lax. */
export const serializeCookie = (name: string, value: string, a: CookieAttributes): string =>
  [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${a.path}`,
    `Max-Age=${a.maxAgeSeconds}`,
    ...(a.domain ? [`Domain=${a.domain}`] : []),
    "HttpOnly",
    "SameSite=Lax",
    ...(a.secure ? ["Secure"] : []),
  ].join("; ")

/** The preferred of Thai and English from `Accept-Language` (or `en`). */
export const preferredLocale = (header: string | null): "th" | "en" => {
  if (!header) return "en"
  const ranked = header
    .split(",")
    .map((part) => {
      const [tag, ...params] = part.trim().split(";")
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="))
      return { tag: (tag ?? "").toLowerCase(), q: q ? Number(q.slice(2)) : 1 }
    })
    .filter((l) => l.tag.startsWith("th") || l.tag.startsWith("en"))
    .sort((a, b) => b.q - a.q)
  return ranked[0]?.tag.startsWith("th") ? "th" : "en"
}
