/**
 * The one web handler: a `(request: Request) => Promise<Response>` over a consentkit client. The
 * framework packages only translate to and from it, so every framework serves the same routes with
 * the same behaviour.
 *
 * @since 0.1.0
 */
import { DEFAULT_MAPPING, fromChoices, type Mapping, withCategories } from "@consentkit/consent-mode"
import {
  type Client,
  type Route as CoreRoute,
  type RouteContext as CoreRouteContext,
  type Decision,
  type Ledger,
  Policy,
} from "@consentkit/core"
import {
  failure,
  invalid,
  json,
  objectBody,
  parseCookies,
  preferredLocale,
  Reply,
  readJson,
  serializeCookie,
  type WireIssue,
} from "./internal/wire.js"

/** A consentkit Promise client, whatever its policy's purpose ids. */
export type Kit = Client<any>

/** An event the collection endpoint accepted: only consented events reach the `collect` hook. */
export interface CollectedEvent {
  readonly tenant: string
  readonly subject: string
  readonly purpose: string
  readonly name: string
  readonly properties: Readonly<Record<string, unknown>>
}

/** What an extra route receives besides the request: core's `RouteContext` plus the kit. */
export interface RouteContext extends CoreRouteContext {
  readonly kit: Kit
}

/** An extra route mounted under the base path (e.g. a one-click unsubscribe endpoint): core's `Route` with the kit in its context. */
export type Route = CoreRoute<RouteContext>

/** Options of `createHandler`. */
export interface HandlerOptions {
  /** Where the routes live (default `/consent`). */
  readonly basePath?: string
  /** The tenant of a request: a fixed id, or read from the host, a header, the session. */
  readonly tenant: string | ((request: Request) => string | Promise<string>)
  /** The logged-in customer's subject id, or null for an anonymous visitor. */
  readonly identify?: (request: Request) => string | null | undefined | Promise<string | null | undefined>
  /** Where the visitor is (`US-CA`, `TH`, `EU-FR`), e.g. from a geo header; decides whether `Sec-GPC: 1` binds. */
  readonly jurisdiction?: (request: Request) => string | null | undefined | Promise<string | null | undefined>
  /** Whether the request may use operator routes (history, export, erase). Without it they always answer 403. */
  readonly authorizeOperator?: (request: Request) => boolean | Promise<boolean>
  /** The anonymous visitor cookie: HttpOnly and SameSite=Lax always. */
  readonly cookie?: {
    /** Default `ck_vid`. */
    readonly name?: string
    /** Default true; set false only for plain-HTTP development. */
    readonly secure?: boolean
    readonly domain?: string
    /** Default `/`. */
    readonly path?: string
    /** Default 395 days (13 months). */
    readonly maxAgeDays?: number
  }
  /** Receives events from the collection endpoint that consent allows; without it the endpoint is absent. */
  readonly collect?: (event: CollectedEvent) => Promise<void>
  /** Extra routes under the base path. */
  readonly routes?: ReadonlyArray<Route>
  /** Largest request body read (default 64 KiB). */
  readonly maxBodyBytes?: number
  /** When set, state-changing requests whose `Origin` is not listed get 403 (cross-site forgery guard). */
  readonly allowedOrigins?: ReadonlyArray<string>
  /** `lastUpdate` of `/.well-known/gpc.json` (YYYY-MM-DD). */
  readonly gpcLastUpdate?: string
  /** Which purposes or categories grant each Google Consent Mode type in state responses. */
  readonly consentMode?: Mapping
  /** Adds evidence to recorded decisions (e.g. `{ ipHash }`), beside the user agent and locale taken from the request. */
  readonly evidence?: (request: Request) => Readonly<Record<string, unknown>> | undefined
  /** Called with unexpected errors before the 500 goes out (logging). */
  readonly onError?: (error: unknown, request: Request) => void
}

/** The handler, with what framework adapters need to route to it. */
export interface ConsentHandler {
  (request: Request): Promise<Response>
  readonly basePath: string
  /** Whether a path is the handler's (under the base path, or `/.well-known/gpc.json`). */
  readonly owns: (pathname: string) => boolean
}

const GPC_PATH = "/.well-known/gpc.json"
const VISITOR_ID = /^[A-Za-z0-9_-]{8,64}$/
const SERVER_FIELDS = ["tenant", "subject", "actor"] as const

interface Compiled {
  readonly method: string
  readonly segments: ReadonlyArray<string>
  readonly run: (request: Request, params: Record<string, string>) => Promise<Response>
}

const compile = (method: string, path: string, run: Compiled["run"]): Compiled => ({
  method: method.toUpperCase(),
  segments: path.split("/").filter(Boolean),
  run,
})

const match = (route: Compiled, segments: ReadonlyArray<string>): Record<string, string> | null => {
  if (route.segments.length !== segments.length) return null
  const params: Record<string, string> = {}
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

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const errorTag = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error
    ? String((error as { _tag: unknown })._tag)
    : undefined

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
  const limit = options.maxBodyBytes ?? 64 * 1024
  const cookieName = options.cookie?.name ?? "ck_vid"
  const cookieAttributes = {
    maxAgeSeconds: Math.round((options.cookie?.maxAgeDays ?? 395) * 86_400),
    path: options.cookie?.path ?? "/",
    domain: options.cookie?.domain,
    secure: options.cookie?.secure ?? true,
  }
  const mapping = options.consentMode ?? DEFAULT_MAPPING
  const policy = kit.policy
  const gpcPurposes = new Set(policy.purposeIds.filter((id) => policy.purposes.get(id)!.gpc))
  // Visitors already linked to a customer in this process, so linking runs once per login, not per request.
  const linked = new Set<string>()

  const tenantOf = async (request: Request) =>
    typeof options.tenant === "string" ? options.tenant : await options.tenant(request)

  /** Who the request is about: the logged-in customer, else the anonymous visitor (given a cookie when new). */
  const resolveSubject = async (request: Request, tenant: string) => {
    const customer = (await options.identify?.(request)) ?? null
    const cookie = parseCookies(request.headers.get("cookie")).get(cookieName)
    const visitor = cookie && VISITOR_ID.test(cookie) ? cookie : null
    const setCookie: Array<string> = []
    if (!customer && !visitor) {
      const fresh = crypto.randomUUID()
      setCookie.push(serializeCookie(cookieName, fresh, cookieAttributes))
      return { subject: fresh, customer, setCookie }
    }
    if (customer && visitor && visitor !== customer) {
      const key = `${tenant}\u0000${customer}\u0000${visitor}`
      if (!linked.has(key)) {
        await kit.link({ tenant, subject: customer, alias: { kind: "anonymous", value: visitor } })
        linked.add(key)
        if (linked.size > 100_000) linked.delete(linked.values().next().value!)
      }
    }
    return { subject: customer ?? visitor!, customer, setCookie }
  }

  /** Records `Sec-GPC: 1` as an opt-out where it binds, unless every GPC purpose is already refused. */
  const honourGpc = async (request: Request, tenant: string, subject: string) => {
    if (request.headers.get("sec-gpc")?.trim() !== "1" || gpcPurposes.size === 0) return
    const jurisdiction = (await options.jurisdiction?.(request)) ?? null
    if (!jurisdiction || !Policy.gpcBinds(policy, jurisdiction)) return
    // Decided in the request's jurisdiction: a first visit from an opt-out state is allowed by default, so GPC must be recorded.
    let allowed = false
    for (const purpose of gpcPurposes) {
      if ((await kit.decide(tenant, subject, purpose, { jurisdiction })).allowed) allowed = true
    }
    if (!allowed) return
    await kit.gpc({
      tenant,
      subject,
      jurisdiction,
      evidence: { userAgent: request.headers.get("user-agent")?.slice(0, 512) ?? undefined },
    })
  }

  const guardOrigin = (request: Request) => {
    if (!options.allowedOrigins) return
    const origin = request.headers.get("origin")
    if (origin && !options.allowedOrigins.includes(origin)) {
      throw new Reply(failure(403, "FORBIDDEN_ORIGIN", `requests from ${origin} are not accepted`))
    }
  }

  const choices = (decisions: ReadonlyArray<Decision.Decision>) =>
    decisions.map((d) => ({
      purpose: d.purpose,
      allowed: d.allowed,
      reason: d.reason,
      noticeVersion: d.noticeVersion,
      categories: policy.purposes.get(d.purpose)?.trackerCategories ?? [],
    }))

  const consentModeOf = (decisions: ReadonlyArray<Decision.Decision>) =>
    fromChoices(withCategories(decisions, policy), mapping)

  /** Runs a subject route: resolve who, honour GPC, act, attach the visitor cookie. */
  const subjectRoute =
    (
      act: (
        request: Request,
        who: { tenant: string; subject: string; customer: string | null },
      ) => Promise<Response>,
    ) =>
    async (request: Request): Promise<Response> => {
      const tenant = await tenantOf(request)
      const { subject, customer, setCookie } = await resolveSubject(request, tenant)
      await honourGpc(request, tenant, subject)
      const response = await act(request, { tenant, subject, customer })
      for (const cookie of setCookie) response.headers.append("set-cookie", cookie)
      return response
    }

  const record = subjectRoute(async (request, { tenant, subject }) => {
    guardOrigin(request)
    const body = objectBody(await readJson(request, limit))
    const serverSet = SERVER_FIELDS.filter((f) => f in body)
    if (serverSet.length > 0) {
      throw new Reply(
        invalid(
          serverSet.map((f) => ({
            code: "MALFORMED",
            path: [f],
            message: "is set by the server, not the request",
          })),
        ),
      )
    }
    const given = body.evidence
    const jurisdiction = (await options.jurisdiction?.(request)) ?? body.jurisdiction
    const result = await kit.record({
      source: "banner",
      ...body,
      tenant,
      subject,
      ...(jurisdiction !== undefined ? { jurisdiction } : {}),
      // Evidence that is not an object is passed through untouched so validation reports it.
      evidence:
        isPlainObject(given) || given === undefined
          ? {
              locale: preferredLocale(request.headers.get("accept-language")),
              ...given,
              ...options.evidence?.(request),
              userAgent: request.headers.get("user-agent")?.slice(0, 512) ?? undefined,
            }
          : given,
    } as never)
    return json(result.duplicate ? 200 : 201, {
      commandId: result.commandId,
      duplicate: result.duplicate,
      receipt: result.receipt,
      decisions: choices(result.decisions),
    })
  })

  const state = subjectRoute(async (_request, { tenant, subject, customer }) => {
    const decisions = await kit.decisions(tenant, subject)
    return json(200, {
      identified: customer !== null,
      decisions: choices(decisions),
      consentMode: consentModeOf(decisions),
    })
  })

  const preferences = subjectRoute(async (request, { tenant, subject, customer }) => {
    const decisions = new Map((await kit.decisions(tenant, subject)).map((d) => [d.purpose, d]))
    const requested = new URL(request.url).searchParams.get("locale")
    const locale =
      requested === "th" || requested === "en"
        ? requested
        : preferredLocale(request.headers.get("accept-language"))
    const now = Date.now()
    return json(200, {
      locale,
      identified: customer !== null,
      controller: {
        name: policy.controller.name,
        email: policy.controller.email,
        url: policy.controller.url ?? null,
      },
      policyUrl: policy.policyUrl,
      purposes: policy.purposeIds.map((id) => {
        const p = policy.purposes.get(id)!
        const notice = Policy.currentVersion(p, now) ?? p.versions[0]!
        const d = decisions.get(id)!
        return {
          id,
          parent: p.ancestors[0] ?? null,
          title: p.title,
          description: p.description ?? null,
          lawfulBasis: p.lawfulBasis,
          // Only consent (and objection to legitimate interest) is the subject's choice.
          required: p.lawfulBasis !== "consent" && p.lawfulBasis !== "legitimate_interest",
          noticeVersion: notice.version,
          textHash: notice.textHash,
          text: notice.text ?? null,
          channels: p.channels,
          trackerCategories: p.trackerCategories,
          choice: { allowed: d.allowed, reason: d.reason, noticeVersion: d.noticeVersion },
        }
      }),
      consentMode: consentModeOf([...decisions.values()]),
    })
  })

  const events = subjectRoute(async (request, { tenant, subject }) => {
    guardOrigin(request)
    const body = objectBody(await readJson(request, limit))
    const issues: Array<WireIssue> = []
    const { purpose, name, properties } = body
    for (const key of Object.keys(body)) {
      if (key !== "purpose" && key !== "name" && key !== "properties") {
        issues.push({ code: "MALFORMED", path: [key], message: "is not a field of an event" })
      }
    }
    if (typeof purpose !== "string")
      issues.push({ code: "MALFORMED", path: ["purpose"], message: "must be a purpose id" })
    else if (!policy.purposes.has(purpose)) {
      issues.push({
        code: "UNKNOWN_PURPOSE",
        path: ["purpose"],
        message: `"${purpose}" is not a purpose of this policy`,
      })
    }
    if (typeof name !== "string" || name.length === 0 || name.length > 128) {
      issues.push({ code: "MALFORMED", path: ["name"], message: "must be a string of 1 to 128 characters" })
    }
    if (
      properties !== undefined &&
      (typeof properties !== "object" || properties === null || Array.isArray(properties))
    ) {
      issues.push({ code: "MALFORMED", path: ["properties"], message: "must be an object" })
    }
    if (issues.length > 0) return invalid(issues)
    const decision = await kit.gate.track({ tenant, subject, purpose: purpose as string })
    if (!decision.allowed) return json(200, { accepted: false, reason: decision.reason })
    await options.collect!({
      tenant,
      subject,
      purpose: purpose as string,
      name: name as string,
      properties: (properties as Record<string, unknown> | undefined) ?? {},
    })
    return json(202, { accepted: true })
  })

  /** Operator routes answer 403 unless the host app's hook says yes. */
  const operator =
    (act: (request: Request, tenant: string, params: Record<string, string>) => Promise<Response>) =>
    async (request: Request, params: Record<string, string>): Promise<Response> => {
      if (!options.authorizeOperator || !(await options.authorizeOperator(request))) {
        return failure(403, "FORBIDDEN", "operator routes need an authorized operator")
      }
      return act(request, await tenantOf(request), params)
    }

  const routes: Array<Compiled> = [
    compile("POST", "/record", (request) => record(request)),
    compile("GET", "/state", (request) => state(request)),
    compile("GET", "/preferences", (request) => preferences(request)),
    ...(options.collect ? [compile("POST", "/events", (request) => events(request))] : []),
    compile(
      "GET",
      "/subjects/:subject/history",
      operator(async (request, tenant, { subject }) => {
        const purpose = new URL(request.url).searchParams.get("purpose") ?? undefined
        const history: ReadonlyArray<Ledger.ConsentEvent> = await kit.history(
          tenant,
          subject!,
          purpose ? { purpose } : undefined,
        )
        return json(200, { events: history })
      }),
    ),
    compile(
      "GET",
      "/subjects/:subject/export",
      operator(async (_request, tenant, { subject }) => json(200, await kit.export(tenant, subject!))),
    ),
    compile(
      "POST",
      "/subjects/:subject/erase",
      operator(async (request, tenant, { subject }) => {
        guardOrigin(request)
        const body = await readJson(request, limit)
        const requestedBy = body === undefined ? undefined : objectBody(body).requestedBy
        return json(
          202,
          await kit.erase({
            tenant,
            subject: subject!,
            ...(requestedBy !== undefined ? { requestedBy } : {}),
          } as never),
        )
      }),
    ),
    compile(
      "GET",
      "/erasures/:id",
      operator(async (_request, tenant, { id }) => json(200, await kit.erasureStatus(tenant, id!))),
    ),
    ...(options.routes ?? []).map((r) =>
      compile(r.method, r.path, async (request, params) =>
        r.handle(request, { params, tenant: await tenantOf(request), kit }),
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
    const segments = url.pathname.split("/").filter(Boolean)
    if (!owns(url.pathname)) return failure(404, "NOT_FOUND", `no consent route at ${url.pathname}`)
    const rest = segments.slice(baseSegments.length)
    const allowed: Array<string> = []
    for (const route of routes) {
      const params = match(route, rest)
      if (!params) continue
      if (route.method !== method) {
        allowed.push(route.method)
        continue
      }
      try {
        return await route.run(request, params)
      } catch (error) {
        return toResponse(error, request)
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
    return failure(404, "NOT_FOUND", `no consent route at ${url.pathname}`)
  }

  const toResponse = (error: unknown, request: Request): Response => {
    if (error instanceof Reply) return error.response
    const tag = errorTag(error)
    const e = error as {
      code?: string
      message?: string
      issues?: ReadonlyArray<WireIssue>
      isRetryable?: boolean
    }
    if (tag === "InvalidCommand")
      return failure(400, e.code ?? "MALFORMED", e.message ?? "invalid command", e.issues ?? [])
    if (tag === "NotFound") return failure(404, "NOT_FOUND", e.message ?? "not found")
    if (tag === "StoreError") {
      const response = failure(
        503,
        `STORE_${e.code ?? "UNKNOWN"}`,
        "the consent store is unavailable; try again",
      )
      if (e.isRetryable) response.headers.set("retry-after", "1")
      return response
    }
    options.onError?.(error, request)
    return failure(500, "INTERNAL", "internal error")
  }

  return Object.assign(handle, { basePath, owns })
}
