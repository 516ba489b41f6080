import { createConsentKit, MemoryStore, StoreError } from "@consentkit/core"
import { Effect } from "effect"
import { conformancePolicy, uniqueTenant } from "@consentkit/core/testing"
import { createHandler } from "@consentkit/http"
import { afterAll, expect, it } from "vitest"

const kit = createConsentKit({
  policy: conformancePolicy,
  store: MemoryStore.make(),
  secret: "s-0123456789abcdef0123456789abcdef",
  dispatcher: { autoStart: false },
})
afterAll(() => kit.close())

const grant = JSON.stringify({ decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }] })

it("refuses state-changing requests from origins that are not allowed, and writes nothing", async () => {
  const tenant = uniqueTenant()
  const handler = createHandler(kit, {
    tenant,
    allowedOrigins: ["https://shop.example"],
    cookie: { name: "vid" },
  })
  const issued = (await handler(new Request("https://shop.example/consent/state"))).headers.getSetCookie()[0]!
  const cookie = issued.split(";")[0]!
  const visitor = decodeURIComponent(cookie.slice("vid=".length)).split(".")[0]!
  const from = (headers: Record<string, string>) =>
    handler(
      new Request("https://shop.example/consent/record", {
        method: "POST",
        headers: { cookie, "content-type": "application/json", ...headers },
        body: grant,
      }),
    )
  for (const headers of <Array<Record<string, string>>>[
    { origin: "https://evil.example" },
    { origin: "null" },
    // No Origin: only a same-origin or same-site fetch passes.
    {},
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "none" },
  ]) {
    const refused = await from(headers)
    expect(refused.status, JSON.stringify(headers)).toBe(403)
    expect((await refused.json()).error.code).toBe("FORBIDDEN_ORIGIN")
  }
  expect(await kit.history(tenant, visitor)).toEqual([])
  expect((await from({ origin: "https://shop.example" })).status).toBe(201)
  expect((await from({ "sec-fetch-site": "same-origin" })).status).toBe(201)
  expect(await kit.history(tenant, visitor)).toHaveLength(2)
})

it("serves under a configured base path, marks the cookie Secure by default and owns only its paths", async () => {
  const tenant = uniqueTenant()
  const handler = createHandler(kit, { tenant, basePath: "/api/privacy/" })
  expect(handler.basePath).toBe("/api/privacy")
  expect(handler.owns("/api/privacy/state")).toBe(true)
  expect(handler.owns("/api/privacy-other")).toBe(false)
  expect(handler.owns("/.well-known/gpc.json")).toBe(true)
  const response = await handler(new Request("https://shop.example/api/privacy/state"))
  expect(response.status).toBe(200)
  const [cookie] = response.headers.getSetCookie()
  expect(cookie).toMatch(
    /^ck_vid=v_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=34128000; HttpOnly; SameSite=Lax; Secure$/,
  )
  expect((await handler(new Request("https://shop.example/consent/state"))).status).toBe(404)
})

it("answers the collection endpoint with 404 when no collect hook is configured", async () => {
  const handler = createHandler(kit, { tenant: uniqueTenant() })
  const response = await handler(
    new Request("https://shop.example/consent/events", {
      method: "POST",
      body: JSON.stringify({ purpose: "analytics", name: "x" }),
    }),
  )
  expect(response.status).toBe(404)
})

it("turns an unexpected failure into a 500 without details and reports it", async () => {
  const seen: Array<unknown> = []
  const handler = createHandler(kit, {
    tenant: () => {
      throw new Error("tenant lookup failed")
    },
    onError: (error) => seen.push(error),
  })
  const response = await handler(new Request("https://shop.example/consent/state"))
  expect(response.status).toBe(500)
  expect(await response.json()).toEqual({
    error: { code: "INTERNAL", message: "internal error", issues: [] },
  })
  expect(String(seen[0])).toMatch(/tenant lookup failed/)
})

it("records a binding GPC signal once, and a grant the visitor then makes explicitly stands", async () => {
  const tenant = uniqueTenant()
  const handler = createHandler(kit, { tenant, jurisdiction: () => "US-CA", cookie: { secure: false } })
  const issued = (await handler(new Request("https://shop.example/consent/state"))).headers.getSetCookie()[0]!
  const cookie = issued.split(";")[0]!
  const visitor = decodeURIComponent(cookie.slice("ck_vid=".length)).split(".")[0]!
  const gpc = { cookie, "sec-gpc": "1" }
  await handler(new Request("https://shop.example/consent/state", { headers: gpc }))
  expect((await kit.history(tenant, visitor)).map((e) => [e.purpose, e.source])).toEqual([
    ["marketing", "gpc"],
  ])
  const grant = await handler(
    new Request("https://shop.example/consent/record", {
      method: "POST",
      headers: { ...gpc, "content-type": "application/json" },
      body: JSON.stringify({ decisions: [{ purpose: "marketing", action: "grant", noticeVersion: 1 }] }),
    }),
  )
  expect(grant.status).toBe(201)
  for (let i = 0; i < 3; i++)
    await handler(new Request("https://shop.example/consent/state", { headers: gpc }))
  expect((await kit.decide(tenant, visitor, "marketing")).allowed).toBe(true)
  expect(await kit.history(tenant, visitor)).toHaveLength(2)
})

it("answers a store failure with 503 and a generic message, never the driver's text", async () => {
  const memory = MemoryStore.make()
  const failing = createConsentKit({
    policy: conformancePolicy,
    store: {
      ...memory,
      withSubject: () =>
        Effect.fail(
          new StoreError({
            code: "UNAVAILABLE",
            message:
              'connect ECONNREFUSED 10.0.0.7:5432 (password authentication failed for user "consentkit_rw")',
            isRetryable: true,
          }),
        ),
    },
    secret: "s-0123456789abcdef0123456789abcdef",
    dispatcher: { autoStart: false },
  })
  const handler = createHandler(failing, { tenant: uniqueTenant(), cookie: { secure: false } })
  const response = await handler(
    new Request("https://shop.example/consent/record", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }] }),
    }),
  )
  expect(response.status).toBe(503)
  const text = await response.text()
  expect(text).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|password|consentkit_rw/)
  expect(JSON.parse(text).error.message).toBe("the consent store is unavailable; try again")
  await failing.close()
})
