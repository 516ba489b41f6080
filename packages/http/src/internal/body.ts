/**
 * The one body reader every route goes through, before any parsing or signature work: the
 * declared `Content-Length` is checked first, the stream is counted as it arrives, and reading
 * stops at the route's limit (413) or the read deadline (408). Routes then see a request whose
 * body is already in memory, so a webhook's `request.text()` can never read more than the limit.
 *
 * @since 0.3.0
 */
import { failure, invalid, Reply } from "./wire.js"

/** Limits of one read. */
export interface BodyLimits {
  /** Largest body, in bytes. */
  readonly maxBytes: number
  /** Longest time to receive the whole body, in milliseconds. */
  readonly timeoutMs: number
}

const tooLarge = (limit: number) =>
  new Reply(failure(413, "BODY_TOO_LARGE", `the body is larger than ${limit} bytes`))

/** Reads the whole body within the limits; null when the request has none. */
export const readBody = async (
  request: Request,
  limits: BodyLimits,
): Promise<Uint8Array<ArrayBuffer> | null> => {
  const header = request.headers.get("content-length")
  if (header !== null) {
    const declared = Number(header)
    if (!/^\d+$/.test(header.trim()) || !Number.isSafeInteger(declared)) {
      throw new Reply(failure(400, "MALFORMED", "the Content-Length header is not a number"))
    }
    if (declared > limits.maxBytes) throw tooLarge(limits.maxBytes)
  }
  if (!request.body) return null
  const reader = request.body.getReader()
  const chunks: Array<Uint8Array> = []
  let size = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), limits.timeoutMs)
  })
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline])
      if (next === "timeout") {
        throw new Reply(failure(408, "BODY_TIMEOUT", `the body did not arrive within ${limits.timeoutMs} ms`))
      }
      if (next.done) break
      size += next.value.byteLength
      if (size > limits.maxBytes) throw tooLarge(limits.maxBytes)
      chunks.push(next.value)
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined)
    throw error
  } finally {
    clearTimeout(timer)
  }
  const body = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.byteLength
  }
  return body
}

/** The same request with its body in memory (so routes and webhooks read only what was bounded). */
export const withBody = (request: Request, body: Uint8Array<ArrayBuffer> | null): Request => {
  const headers = new Headers(request.headers)
  headers.delete("content-length")
  return new Request(request.url, {
    method: request.method,
    headers,
    body: body && body.byteLength > 0 ? body : null,
    signal: request.signal,
  })
}

/** How deep JSON may nest in a request (a consent command needs about five levels). */
export const MAX_JSON_DEPTH = 32

/** Whether JSON text nests deeper than `max`, scanned without recursion and before parsing. */
export const nestsDeeperThan = (text: string, max: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92)
        i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      if (++depth > max) return true
    } else if (c === 125 || c === 93) depth--
  }
  return false
}

/** Parses a body already read as JSON: `undefined` when empty, 400 when malformed or too deep. */
export const parseJson = (body: Uint8Array | null): unknown => {
  if (!body) return undefined
  const text = new TextDecoder("utf-8", { fatal: false }).decode(body)
  if (text.trim() === "") return undefined
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new Reply(
      invalid([
        { code: "MALFORMED", path: [], message: `the body nests deeper than ${MAX_JSON_DEPTH} levels` },
      ]),
    )
  }
  try {
    return JSON.parse(text)
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause)
    throw new Reply(
      invalid([{ code: "MALFORMED", path: [], message: `the body is not valid JSON (${detail})` }]),
    )
  }
}

/** The JSON body of a request whose body the handler already read. */
export const jsonOf = async (request: Request): Promise<unknown> =>
  parseJson(request.body ? new Uint8Array(await request.arrayBuffer()) : null)
