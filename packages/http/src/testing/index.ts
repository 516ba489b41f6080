/**
 * @consentkit/http/testing: the HTTP behaviour every framework adapter must show, over real HTTP.
 * Each framework package calls `httpConformance(name, start)` so all of them pass the same
 * assertions. Each test uses its own tenant.
 *
 * @since 0.1.0
 */
import { type Client, createConsentKit, MemoryStore } from "@consentkit/core"
import { type ConformancePurpose, conformancePolicy, uniqueTenant } from "@consentkit/core/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { CollectedEvent, HandlerOptions, Kit } from "../handler.js"
import { operatorToken } from "../operatorToken.js"

/** A running server. */
export interface StartedServer {
  /** Base URL, e.g. `http://127.0.0.1:43123`. */
  readonly url: string
  readonly close: () => Promise<void>
}

/**
 * Starts the framework's server on 127.0.0.1 (port 0) with the adapter mounted for `kit` and
 * `options`, and one route of the app's own, `GET /app/ping` answering `pong`, to show the adapter
 * leaves other paths to the app.
 */
export type StartServer = (kit: Kit, options: HandlerOptions) => Promise<StartedServer>

const OPERATOR = "Bearer operator-token-0123456789abcdef0123456789"

/** The options the suite mounts: tenant, customer and jurisdiction from headers, an operator token, a collect hook. */
export const conformanceOptions = (collected: Array<CollectedEvent>): HandlerOptions => ({
  tenant: (request) => request.headers.get("x-tenant") ?? "default",
  identify: (request) => request.headers.get("x-customer"),
  jurisdiction: (request) => request.headers.get("x-jurisdiction") ?? undefined,
  authorizeOperator: operatorToken(OPERATOR.slice("Bearer ".length)),
  cookie: { secure: false },
  gpcLastUpdate: "2026-01-15",
  collect: async (event) => {
    collected.push(event)
  },
  routes: [
    {
      method: "GET",
      path: "/echo/:word",
      handle: async (_request, { params, tenant }) =>
        new Response(`${tenant}:${params.word}`, { status: 200 }),
    },
  ],
})

const visitorCookie = (response: Response): { value: string; attributes: string } => {
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("ck_vid="))
  expect(cookie, "the response sets the visitor cookie").toBeDefined()
  return { value: decodeURIComponent(cookie!.split(";")[0]!.slice("ck_vid=".length)), attributes: cookie! }
}

/** Registers the HTTP conformance suite for one framework adapter. */
export const httpConformance = (name: string, start: StartServer): void => {
  describe(`http conformance: ${name}`, () => {
    let kit: Client<ConformancePurpose>
    let server: StartedServer
    const collected: Array<CollectedEvent> = []

    beforeAll(async () => {
      kit = createConsentKit({
        policy: conformancePolicy,
        store: MemoryStore.make(),
        secret: "http-conformance-0123456789abcdef0123456789abcdef",
        dispatcher: { autoStart: false },
      })
      server = await start(kit, conformanceOptions(collected))
    })
    afterAll(async () => {
      await server?.close()
      await kit?.close()
    })

    const call = (
      tenant: string,
      path: string,
      init: RequestInit & { headers?: Record<string, string> } = {},
    ) => fetch(`${server.url}${path}`, { ...init, headers: { "x-tenant": tenant, ...init.headers } })

    const post = (tenant: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
      call(tenant, path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      })

    /** A visitor the server issued: its subject id and the `cookie` header that carries it. */
    const newVisitor = async (tenant: string) => {
      const cookie = visitorCookie(await call(tenant, "/consent/state"))
      return { subject: cookie.value.split(".")[0]!, headers: { cookie: `ck_vid=${cookie.value}` } }
    }

    it("records consent and gives an anonymous visitor an HttpOnly, SameSite=Lax cookie", async () => {
      const tenant = uniqueTenant()
      const response = await post(
        tenant,
        "/consent/record",
        { decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }] },
        { "user-agent": "conformance-agent", "accept-language": "th-TH,th;q=0.9,en;q=0.5" },
      )
      expect(response.status).toBe(201)
      const body = await response.json()
      expect(body.decisions).toEqual([
        expect.objectContaining({ purpose: "analytics", allowed: true, reason: "granted" }),
      ])
      expect(body.receipt).not.toBeNull()
      const cookie = visitorCookie(response)
      expect(cookie.attributes).toMatch(/; HttpOnly/)
      expect(cookie.attributes).toMatch(/; SameSite=Lax/)
      expect(cookie.attributes).toMatch(/; Path=\//)
      expect(cookie.attributes).not.toMatch(/Secure/)
      // A visitor id the server issued: `v_` and 128 random bits, signed.
      expect(cookie.value).toMatch(/^v_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
      const history = await kit.history(tenant, cookie.value.split(".")[0]!)
      expect(history).toHaveLength(1)
      expect(history[0]).toMatchObject({ purpose: "analytics", action: "grant", source: "banner" })
      expect(history[0]!.evidence).toMatchObject({ userAgent: "conformance-agent", locale: "th" })
    })

    it("reads the subject's state and the preference-center model in Thai and English", async () => {
      const tenant = uniqueTenant()
      const { subject: visitor, headers } = await newVisitor(tenant)
      await kit.record({
        tenant,
        subject: visitor,
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
      const state = await call(tenant, "/consent/state", { headers })
      expect(state.status).toBe(200)
      expect(state.headers.getSetCookie()).toEqual([])
      const stateBody = await state.json()
      expect(stateBody.identified).toBe(false)
      expect(stateBody.decisions).toContainEqual(
        expect.objectContaining({
          purpose: "analytics",
          allowed: true,
          reason: "granted",
          categories: ["analytics"],
        }),
      )
      expect(stateBody.decisions).toContainEqual(
        expect.objectContaining({ purpose: "marketing", allowed: false }),
      )
      expect(stateBody.consentMode).toMatchObject({
        analytics_storage: "granted",
        ad_storage: "denied",
        security_storage: "granted",
      })

      const prefs = await call(tenant, "/consent/preferences?locale=th", { headers })
      expect(prefs.status).toBe(200)
      const model = await prefs.json()
      expect(model.locale).toBe("th")
      expect(model.controller.name).toBe(conformancePolicy.controller.name)
      const analytics = model.purposes.find((p: { id: string }) => p.id === "analytics")
      expect(analytics).toMatchObject({
        title: { en: "Analytics", th: "การวิเคราะห์" },
        noticeVersion: 2,
        required: false,
        choice: { allowed: true, reason: "granted", noticeVersion: 2 },
      })
      expect(model.purposes.find((p: { id: string }) => p.id === "marketing.email")).toMatchObject({
        parent: "marketing",
        title: { en: "Email offers", th: "ข้อเสนอทางอีเมล" },
        choice: { allowed: false },
      })
    })

    it("shows and records channels per purpose in the preference center", async () => {
      const tenant = uniqueTenant()
      const { subject, headers } = await newVisitor(tenant)
      const granted = await post(
        tenant,
        "/consent/record",
        {
          source: "preference-center",
          decisions: [
            { purpose: "marketing", action: "grant", noticeVersion: 1 },
            { purpose: "marketing.line", action: "grant", noticeVersion: 1 },
          ],
        },
        headers,
      )
      expect(granted.status).toBe(201)
      const closed = await post(
        tenant,
        "/consent/record",
        {
          source: "preference-center",
          decisions: [{ purpose: "marketing.line", channel: "line", action: "withdraw" }],
        },
        headers,
      )
      expect(closed.status).toBe(201)
      // A channel the purpose does not govern is refused, and nothing is written.
      const wrong = await post(
        tenant,
        "/consent/record",
        { decisions: [{ purpose: "marketing.line", channel: "sms", action: "withdraw" }] },
        headers,
      )
      expect(wrong.status).toBe(400)
      expect((await wrong.json()).error.code).toBe("UNKNOWN_CHANNEL")
      expect(
        (await kit.history(tenant, subject)).map((e) => [e.purpose, e.channel ?? null, e.action]),
      ).toEqual([
        ["marketing", null, "grant"],
        ["marketing.line", null, "grant"],
        ["marketing.line", "line", "withdraw"],
      ])
      const model = await (await call(tenant, "/consent/preferences", { headers })).json()
      expect(model.purposes.find((p: { id: string }) => p.id === "marketing.line")).toMatchObject({
        channels: ["line"],
        choice: { allowed: true, reason: "granted" },
        channelChoices: [{ channel: "line", allowed: false, reason: "channel_withdrawn" }],
      })
      expect(model.purposes.find((p: { id: string }) => p.id === "marketing.email")).toMatchObject({
        channelChoices: [{ channel: "email", allowed: false, reason: "no_consent" }],
      })
      expect(model.purposes.find((p: { id: string }) => p.id === "analytics").channelChoices).toBeUndefined()
    })

    it("records Sec-GPC: 1 as an opt-out where it binds, and not where it does not", async () => {
      const tenant = uniqueTenant()
      const gpcCA = { "sec-gpc": "1", "x-jurisdiction": "US-CA" }
      // A first, cookieless visit reads as opted out but writes nothing (anyone could send it).
      const first = await call(tenant, "/consent/state", { headers: gpcCA })
      expect(await first.json()).toMatchObject({
        decisions: expect.arrayContaining([
          expect.objectContaining({ purpose: "marketing", allowed: false }),
        ]),
      })
      const cookie = visitorCookie(first)
      const californian = cookie.value.split(".")[0]!
      expect(await kit.history(tenant, californian)).toEqual([])
      // The visitor's next request, with the cookie the server issued, records it.
      const response = await call(tenant, "/consent/state", {
        headers: { cookie: `ck_vid=${cookie.value}`, ...gpcCA },
      })
      expect(response.status).toBe(200)
      const body = await response.json()
      expect(body.decisions).toContainEqual(
        expect.objectContaining({ purpose: "marketing", allowed: false, reason: "gpc_opt_out" }),
      )
      const history = await kit.history(tenant, californian)
      expect(history.map((e) => [e.purpose, e.action, e.source])).toEqual([["marketing", "deny", "gpc"]])
      expect(history[0]!.jurisdiction).toBe("US-CA")
      // The same signal again writes nothing more.
      await call(tenant, "/consent/state", { headers: { cookie: `ck_vid=${cookie.value}`, ...gpcCA } })
      expect(await kit.history(tenant, californian)).toHaveLength(1)

      const thai = await newVisitor(tenant)
      await call(tenant, "/consent/state", {
        headers: { ...thai.headers, "sec-gpc": "1", "x-jurisdiction": "TH" },
      })
      expect(await kit.history(tenant, thai.subject)).toEqual([])
    })

    it("serves /.well-known/gpc.json", async () => {
      const response = await call("any", "/.well-known/gpc.json")
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toMatch(/^application\/json/)
      expect(await response.json()).toEqual({ gpc: true, lastUpdate: "2026-01-15" })
    })

    it("collects events only while the subject allows their purpose", async () => {
      const tenant = uniqueTenant()
      const { subject: visitor, headers } = await newVisitor(tenant)
      const send = (name: string) =>
        post(tenant, "/consent/events", { purpose: "analytics", name, properties: { path: "/tea" } }, headers)
      expect(await (await send("before-consent")).json()).toEqual({ accepted: false, reason: "no_consent" })
      await post(
        tenant,
        "/consent/record",
        { decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }] },
        headers,
      )
      const accepted = await send("page_view")
      expect(accepted.status).toBe(202)
      expect(await accepted.json()).toEqual({ accepted: true })
      await post(
        tenant,
        "/consent/record",
        { source: "preference-center", decisions: [{ purpose: "analytics", action: "withdraw" }] },
        headers,
      )
      expect(await (await send("after-withdrawal")).json()).toEqual({ accepted: false, reason: "withdrawn" })
      expect(collected.filter((e) => e.tenant === tenant)).toEqual([
        { tenant, subject: visitor, purpose: "analytics", name: "page_view", properties: { path: "/tea" } },
      ])
    })

    it("answers malformed bodies with 400 and a readable error, and writes nothing", async () => {
      const tenant = uniqueTenant()
      const { subject: visitor, headers } = await newVisitor(tenant)
      const cases: Array<[string, unknown, string]> = [
        ["/consent/record", "{not json", "MALFORMED"],
        ["/consent/record", [], "MALFORMED"],
        [
          "/consent/record",
          { decisions: [{ purpose: "analytcs", action: "grant", noticeVersion: 1 }] },
          "UNKNOWN_PURPOSE",
        ],
        [
          "/consent/record",
          { decisions: [{ purpose: "analytics", action: "grant" }] },
          "MISSING_NOTICE_VERSION",
        ],
        ["/consent/record", { decisions: "all", extra: true }, "MALFORMED"],
        [
          "/consent/record",
          {
            subject: "someone-else",
            decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
          },
          "MALFORMED",
        ],
        [
          "/consent/record",
          {
            occurredAt: "2020-01-01T00:00:00Z",
            decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
          },
          "MALFORMED",
        ],
        ["/consent/events", { purpose: "analytics" }, "MALFORMED"],
        ["/consent/events", "", "MALFORMED"],
      ]
      for (const [path, body, code] of cases) {
        const response = await post(tenant, path, body, headers)
        expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(400)
        expect(response.headers.get("content-type")).toMatch(/^application\/json/)
        const { error } = await response.json()
        expect(error.code).toBe(code)
        expect(typeof error.message).toBe("string")
        expect(error.message.length).toBeGreaterThan(0)
        expect(Array.isArray(error.issues)).toBe(true)
        expect(error.issues.length).toBeGreaterThan(0)
      }
      expect(await kit.history(tenant, visitor)).toEqual([])
      expect(await kit.history(tenant, "someone-else")).toEqual([])
      expect(collected.filter((e) => e.tenant === tenant)).toEqual([])
    })

    it("refuses a body larger than the limit with 413", async () => {
      const tenant = uniqueTenant()
      const response = await post(tenant, "/consent/record", {
        decisions: [],
        padding: "x".repeat(70 * 1024),
      })
      expect(response.status).toBe(413)
      expect((await response.json()).error.code).toBe("BODY_TOO_LARGE")
    })

    it("links the anonymous visitor to the customer at login", async () => {
      const tenant = uniqueTenant()
      const { subject: visitor, headers } = await newVisitor(tenant)
      const customer = `customer-${tenant}`
      await post(
        tenant,
        "/consent/record",
        { decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }] },
        headers,
      )
      const response = await call(tenant, "/consent/state", {
        headers: { ...headers, "x-customer": customer },
      })
      const body = await response.json()
      expect(body.identified).toBe(true)
      expect(body.decisions).toContainEqual(expect.objectContaining({ purpose: "analytics", allowed: true }))
      const exported = await kit.export(tenant, customer)
      expect(exported.aliases).toEqual([{ kind: "anonymous", value: visitor }])
      expect((await kit.history(tenant, customer)).map((e) => [e.purpose, e.source])).toEqual([
        ["analytics", "link"],
      ])
    })

    it("ignores a visitor cookie the server did not issue: a customer's id there reads and writes nothing of theirs", async () => {
      const tenant = uniqueTenant()
      const customer = `customer-${tenant}`
      await kit.record({
        tenant,
        subject: customer,
        source: "pos",
        decisions: [{ purpose: "marketing", action: "grant", noticeVersion: 1 }],
      })
      const forged = { cookie: `ck_vid=${customer}` }
      const state = await call(tenant, "/consent/state", { headers: forged })
      expect((await state.json()).decisions).toContainEqual(
        expect.objectContaining({ purpose: "marketing", allowed: false, reason: "no_consent" }),
      )
      // A fresh visitor was issued instead.
      expect(visitorCookie(state).value).toMatch(/^v_/)
      const withdraw = await post(
        tenant,
        "/consent/record",
        { decisions: [{ purpose: "marketing", action: "withdraw" }] },
        forged,
      )
      expect(withdraw.status).toBe(201)
      expect((await kit.history(tenant, customer)).map((e) => e.action)).toEqual(["grant"])
    })

    it("refuses a state change that is not JSON with 415 and writes nothing", async () => {
      const tenant = uniqueTenant()
      const { subject, headers } = await newVisitor(tenant)
      const response = await call(tenant, "/consent/record", {
        method: "POST",
        headers: { ...headers, "content-type": "text/plain" },
        body: JSON.stringify({ decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }] }),
      })
      expect(response.status).toBe(415)
      expect((await response.json()).error.code).toBe("UNSUPPORTED_MEDIA_TYPE")
      expect(await kit.history(tenant, subject)).toEqual([])
    })

    it("keeps history, export and erase behind the operator hook", async () => {
      const tenant = uniqueTenant()
      const subject = `operated-${tenant}`
      await kit.record({
        tenant,
        subject,
        source: "pos",
        decisions: [{ purpose: "marketing", action: "grant", noticeVersion: 1 }],
      })
      for (const [method, path] of [
        ["GET", `/consent/subjects/${subject}/history`],
        ["GET", `/consent/subjects/${subject}/export`],
        ["POST", `/consent/subjects/${subject}/erase`],
      ] as const) {
        const refused = await call(tenant, path, {
          method,
          headers: { authorization: "Bearer wrong", "content-type": "application/json" },
        })
        expect(refused.status, `${method} ${path}`).toBe(403)
        expect((await refused.json()).error.code).toBe("FORBIDDEN")
      }
      expect(await kit.history(tenant, subject)).toHaveLength(1)

      const auth = { authorization: OPERATOR }
      const history = await (
        await call(tenant, `/consent/subjects/${encodeURIComponent(subject)}/history`, { headers: auth })
      ).json()
      expect(history.events).toEqual([
        expect.objectContaining({ purpose: "marketing", action: "grant", source: "pos" }),
      ])
      const exported = await (
        await call(tenant, `/consent/subjects/${subject}/export`, { headers: auth })
      ).json()
      expect(exported).toMatchObject({ tenant, subject, chain: { ok: true } })
      const erase = await post(
        tenant,
        `/consent/subjects/${subject}/erase`,
        { requestedBy: "dpo@conformance.example" },
        auth,
      )
      expect(erase.status).toBe(202)
      const receipt = await erase.json()
      expect(receipt.pseudonym).toMatch(/^erased:/)
      const status = await call(tenant, `/consent/erasures/${receipt.erasureId}`, { headers: auth })
      expect(status.status).toBe(200)
      // Kept as a keyed digest, never as given.
      expect((await status.json()).request.requestedBy).toMatch(/^hmac-sha256:[0-9a-f]{64}$/)
      expect(await kit.history(tenant, subject)).toEqual([])
      const kept = await kit.history(tenant, receipt.pseudonym)
      expect(kept.map((e) => [e.purpose, e.erased])).toEqual([["marketing", true]])
    })

    it("mounts extra routes, answers unknown consent paths with 404 and leaves the app's paths alone", async () => {
      const echo = await call("shop", "/consent/echo/hello")
      expect(echo.status).toBe(200)
      expect(await echo.text()).toBe("shop:hello")
      const missing = await call("shop", "/consent/nowhere")
      expect(missing.status).toBe(404)
      expect((await missing.json()).error.code).toBe("NOT_FOUND")
      const wrongMethod = await call("shop", "/consent/record")
      expect(wrongMethod.status).toBe(405)
      const app = await call("shop", "/app/ping")
      expect(app.status).toBe(200)
      expect(await app.text()).toBe("pong")
    })
  })
}
