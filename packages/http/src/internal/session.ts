/**
 * Who a request is about and what must happen before a route acts: the tenant, the subject (the
 * logged-in customer, else the visitor cookie, linked on login), `Sec-GPC: 1` where it binds, and
 * the origin check of writes.
 *
 * @since 0.2.0
 */
import { Policy } from "@consentkit/core"
import type { HandlerOptions, Kit } from "../types.js"
import { failure, parseCookies, Reply, serializeCookie } from "./wire.js"

const VISITOR_ID = /^[A-Za-z0-9_-]{8,64}$/

/** What a subject route is told about the request. */
export interface Who {
  readonly tenant: string
  readonly subject: string
  readonly customer: string | null
}

export const makeSession = (kit: Kit, options: HandlerOptions) => {
  const cookieName = options.cookie?.name ?? "ck_vid"
  const cookieAttributes = {
    maxAgeSeconds: Math.round((options.cookie?.maxAgeDays ?? 395) * 86_400),
    path: options.cookie?.path ?? "/",
    domain: options.cookie?.domain,
    secure: options.cookie?.secure ?? true,
  }
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
  return { tenantOf, guardOrigin, subjectRoute }
}

/** The session helpers of one handler. */
export type Session = ReturnType<typeof makeSession>
