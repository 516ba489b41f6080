/**
 * Who a request is about and what must hold before a route acts: the tenant; the subject (the
 * logged-in customer, else the server-issued visitor of a signed cookie, linked on login); the
 * cross-site guard of writes; `Sec-GPC: 1` where it binds. Nothing is written before the guard,
 * and a request from a visitor the server has not seen before (no valid cookie) reads only.
 *
 * @since 0.2.0
 */
import { type Decision, Policy } from "@consentkit/core"
import type { HandlerOptions, Kit } from "../types.js"
import { isVisitorId, makeVisitors } from "./visitor.js"
import { failure, parseCookies, Reply, serializeCookie } from "./wire.js"

/** What a subject route is told about the request. */
export interface Who {
  readonly tenant: string
  readonly subject: string
  readonly customer: string | null
  /** A visitor issued by this request (no valid cookie came with it). */
  readonly fresh: boolean
  /** Where the visitor is, from the `jurisdiction` hook. */
  readonly jurisdiction: string | null
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

export const makeSession = (kit: Kit, options: HandlerOptions) => {
  const cookieName = options.cookie?.name ?? "ck_vid"
  const cookieAttributes = {
    maxAgeSeconds: Math.round((options.cookie?.maxAgeDays ?? 395) * 86_400),
    path: options.cookie?.path ?? "/",
    domain: options.cookie?.domain,
    secure: options.cookie?.secure ?? true,
  }
  const policy = kit.policy
  const visitors = makeVisitors(kit)
  const gpcPurposes = new Set(policy.purposeIds.filter((id) => policy.purposes.get(id)!.gpc))
  // Visitors already linked to a customer in this process, so linking runs once per login, not per request.
  const linked = new Set<string>()

  const tenantOf = async (request: Request) =>
    typeof options.tenant === "string" ? options.tenant : await options.tenant(request)

  /**
   * The cross-site guard of state-changing routes: a JSON body (a cross-site form cannot send
   * one without a CORS preflight, which the handler never grants), and with `allowedOrigins` a
   * listed `Origin`, or none with a same-origin or same-site `Sec-Fetch-Site`.
   */
  const guardWrite = (request: Request) => {
    const type = request.headers.get("content-type")
    if (!type || !JSON_TYPE.test(type)) {
      throw new Reply(
        failure(
          415,
          "UNSUPPORTED_MEDIA_TYPE",
          "state-changing requests must send Content-Type: application/json",
        ),
      )
    }
    if (!options.allowedOrigins) return
    const origin = request.headers.get("origin")
    if (origin !== null) {
      if (!options.allowedOrigins.includes(origin)) {
        throw new Reply(failure(403, "FORBIDDEN_ORIGIN", `requests from ${origin} are not accepted`))
      }
      return
    }
    const site = request.headers.get("sec-fetch-site")
    if (site !== "same-origin" && site !== "same-site") {
      throw new Reply(
        failure(403, "FORBIDDEN_ORIGIN", "a state-changing request must come from an allowed origin"),
      )
    }
  }

  /** The visitor id of the request's cookie if this handler issued it for `tenant`, else null. */
  const visitorIn = async (request: Request, tenant: string): Promise<string | null> => {
    const cookie = parseCookies(request.headers.get("cookie")).get(cookieName)
    return cookie ? visitors.verify(tenant, cookie) : null
  }

  /** Who the request is about; writes nothing (a new visitor gets a cookie, kept by `settle`'s response). */
  const identify = async (request: Request, tenant: string) => {
    const customer = (await options.identify?.(request)) ?? null
    if (customer !== null && isVisitorId(customer)) {
      throw new Error(
        `identify returned "${customer}", an id in the visitor namespace (v_...): customer ids must not start with "v_"`,
      )
    }
    const visitor = await visitorIn(request, tenant)
    const setCookie: Array<string> = []
    const jurisdiction = (await options.jurisdiction?.(request)) ?? null
    if (!customer && !visitor) {
      const fresh = await visitors.issue(tenant)
      setCookie.push(serializeCookie(cookieName, fresh.cookie, cookieAttributes))
      return { who: { tenant, subject: fresh.id, customer, fresh: true, jurisdiction }, visitor, setCookie }
    }
    return {
      who: { tenant, subject: customer ?? visitor!, customer, fresh: false, jurisdiction },
      visitor,
      setCookie,
    }
  }

  const gpcBinds = (request: Request, jurisdiction: string | null) =>
    request.headers.get("sec-gpc")?.trim() === "1" &&
    gpcPurposes.size > 0 &&
    jurisdiction !== null &&
    Policy.gpcBinds(policy, jurisdiction)

  /** Records `Sec-GPC: 1` as an opt-out where it binds, for GPC purposes allowed only by default (not refused, not explicitly granted). */
  const honourGpc = async (request: Request, who: Who) => {
    if (!gpcBinds(request, who.jurisdiction)) return
    const jurisdiction = who.jurisdiction!
    // Decided in the request's jurisdiction: a first visit from an opt-out state is allowed by default, so GPC must be recorded.
    // Only what is allowed by default: a grant the subject made explicitly (with GPC on) stands.
    let byDefault = false
    for (const purpose of gpcPurposes) {
      const d = await kit.decide(who.tenant, who.subject, purpose, { jurisdiction })
      if (d.allowed && d.reason !== "granted") byDefault = true
    }
    if (!byDefault) return
    await kit.gpc({
      tenant: who.tenant,
      subject: who.subject,
      jurisdiction,
      evidence: { userAgent: request.headers.get("user-agent")?.slice(0, 512) ?? undefined },
    })
  }

  /**
   * What may be written for the request once the route has checked it: the login link (only of a
   * visitor id this server issued) and the GPC signal. A new visitor reading only gets nothing
   * written; its GPC is applied to what it reads (`withGpc`) and recorded once it writes.
   */
  const settle = async (request: Request, who: Who, visitor: string | null, writing: boolean) => {
    if (who.customer && visitor && visitor !== who.customer) {
      const key = `${who.tenant}\u0000${who.customer}\u0000${visitor}`
      if (!linked.has(key)) {
        await kit.link({
          tenant: who.tenant,
          subject: who.customer,
          alias: { kind: "anonymous", value: visitor },
        })
        linked.add(key)
        if (linked.size > 100_000) linked.delete(linked.values().next().value!)
      }
    }
    if (writing || !who.fresh) await honourGpc(request, who)
  }

  /** Decisions as a GPC signal not yet recorded makes them: its purposes (and their children) not allowed. */
  const withGpc = (
    request: Request,
    who: Who,
    decisions: ReadonlyArray<Decision.Decision>,
  ): ReadonlyArray<Decision.Decision> => {
    if (!who.fresh || !gpcBinds(request, who.jurisdiction)) return decisions
    return decisions.map((d) => {
      const p = policy.purposes.get(d.purpose)
      const governed = p && (p.gpc || p.ancestors.some((a) => policy.purposes.get(a)?.gpc))
      // Refused, with the reason left as it stands: the opt-out is not recorded yet, so a page that
      // sees the signal still records it (a guarded write), and the next request records it anyway.
      return governed ? { ...d, allowed: false } : d
    })
  }

  /**
   * Runs a subject route. Writes are guarded first; the route then checks its input and calls
   * `settle()` just before it acts, so a refused request writes nothing; the visitor cookie is
   * attached to the response.
   */
  const subjectRoute =
    (
      kind: "read" | "write",
      act: (request: Request, who: Who, settle: () => Promise<void>) => Promise<Response>,
    ) =>
    async (request: Request): Promise<Response> => {
      const tenant = await tenantOf(request)
      if (kind === "write") guardWrite(request)
      const { who, visitor, setCookie } = await identify(request, tenant)
      const response = await act(request, who, () => settle(request, who, visitor, kind === "write"))
      for (const cookie of setCookie) response.headers.append("set-cookie", cookie)
      return response
    }
  const visitorOf = async (request: Request): Promise<string | null> =>
    visitorIn(request, await tenantOf(request))
  return { tenantOf, guardWrite, subjectRoute, withGpc, visitorOf }
}

/** The session helpers of one handler. */
export type Session = ReturnType<typeof makeSession>
