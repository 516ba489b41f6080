import { request as httpRequest } from "node:http"
import { inject } from "vitest"

export const tenant = "siam-tea"

interface StoredEvent {
  readonly purpose: string
  readonly action: string
  readonly noticeVersion: number
  readonly source: string
}

let pages = 0

/**
 * A page of its own on the test server (started by `global-setup.ts`): an endpoint no other test
 * uses, and a fetch that keeps the signed visitor cookie the handler issues, as a browser would.
 */
export const page = () => {
  const origin = inject("consentOrigin")
  const endpoint = `${origin}/page-${process.pid}-${++pages}/consent`
  let cookie: string | null = null

  // node:http underneath: the DOM's fetch would apply cross-origin rules and drop the cookie.
  const pageFetch = (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = {}
      new Headers(init.headers).forEach((value, key) => {
        headers[key] = value
      })
      if (cookie) headers.cookie = cookie
      const req = httpRequest(new URL(String(input)), { method: init.method ?? "GET", headers }, (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("end", () => {
          const set = res.headers["set-cookie"]?.find((c) => c.startsWith("ck_vid="))
          if (set) cookie = set.split(";")[0]!
          resolve(
            new Response(Buffer.concat(chunks).toString("utf8"), {
              status: res.statusCode ?? 500,
              headers: { "content-type": String(res.headers["content-type"] ?? "") },
            }),
          )
        })
      })
      req.on("error", reject)
      if (typeof init.body === "string") req.write(init.body)
      req.end()
    })

  /** The visitor the handler issued to this page (its subject in the ledger). */
  const visitor = (): string => {
    if (!cookie) throw new Error("no visitor cookie yet")
    return decodeURIComponent(cookie.slice("ck_vid=".length)).split(".")[0]!
  }

  /** This page's visitor's ledger, as the store holds it. */
  const history = async (): Promise<ReadonlyArray<StoredEvent>> => {
    const response = await pageFetch(`${origin}/history/${encodeURIComponent(visitor())}`)
    return (await response.json()) as ReadonlyArray<StoredEvent>
  }

  return { endpoint, fetch: pageFetch as typeof fetch, visitor, history }
}
