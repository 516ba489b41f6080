/**
 * @consentkit/http/node: the bridge between Node's `http` objects and Web `Request`/`Response`,
 * written once for every Node framework adapter (Express, Fastify, plain `node:http`).
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Readable } from "node:stream"
import type { TLSSocket } from "node:tls"

/** Options of `toWebRequest`. */
export interface ToWebRequestOptions {
  /** A body the framework already read (Express body parsers, Fastify's buffer); otherwise the request is streamed. */
  readonly body?: string | Uint8Array | null
  /** Read the scheme and host from `X-Forwarded-Proto` / `X-Forwarded-Host` (only behind a proxy you trust). */
  readonly trustProxy?: boolean
  /** The scheme and host as the framework worked them out (e.g. `https://shop.example`); overrides both above. */
  readonly origin?: string
}

const first = (value: string | Array<string> | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value?.split(",")[0]?.trim()

/** A Web `Request` for a Node request; Express's `originalUrl` is used when a router stripped a mount path. */
export const toWebRequest = (req: IncomingMessage, options: ToWebRequestOptions = {}): Request => {
  const encrypted = (req.socket as TLSSocket | undefined)?.encrypted === true
  const scheme =
    (options.trustProxy && first(req.headers["x-forwarded-proto"])) || (encrypted ? "https" : "http")
  const host =
    (options.trustProxy && first(req.headers["x-forwarded-host"])) || req.headers.host || "localhost"
  const path = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? "/"
  const headers = new Headers()
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!
    // HTTP/2 pseudo-headers are not headers of a Web request.
    if (!name.startsWith(":")) headers.append(name, req.rawHeaders[i + 1]!)
  }
  const method = (req.method ?? "GET").toUpperCase()
  const init: RequestInit & { duplex?: "half" } = { method, headers }
  if (method !== "GET" && method !== "HEAD") {
    if (options.body !== undefined) {
      init.body = options.body as BodyInit | null
      // The framework decoded the body, so its original length and encoding no longer apply.
      headers.delete("content-length")
      headers.delete("content-encoding")
    } else {
      init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>
      init.duplex = "half"
    }
  }
  return new Request(new URL(path, options.origin ?? `${scheme}://${host}`), init)
}

/** Writes a Web `Response` to a Node response, keeping every `Set-Cookie` separate. */
export const sendWebResponse = async (res: ServerResponse, response: Response): Promise<void> => {
  res.statusCode = response.status
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") res.setHeader(name, value)
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader("set-cookie", cookies)
  if (!response.body) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (!res.write(value)) await new Promise<void>((resolve) => res.once("drain", resolve))
  }
  await new Promise<void>((resolve) => res.end(resolve))
}
