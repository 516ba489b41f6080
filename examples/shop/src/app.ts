/**
 * The shop's routes on Hono. The consent routes (`/consent/*`, `/.well-known/gpc.json`) come from
 * `@consentkit/adapter-hono`; everything else is the shop: server-rendered pages, sign-in that links
 * the anonymous visitor to the customer, the erasure request, the demo mailbox and the admin.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import type { LineMessenger } from "@consentkit/adapter-line"
import type { LocalLine } from "@consentkit/adapter-line/testing"
import { consentMiddleware } from "@consentkit/adapter-hono"
import { type NodemailerMessenger, oneClickUnsubscribe } from "@consentkit/adapter-nodemailer"
import type { LocalSmtp } from "@consentkit/adapter-nodemailer/testing"
import type { PostHogTracker } from "@consentkit/adapter-posthog"
import { type Client, ConsentKit } from "@consentkit/core"
import { Hono } from "hono"
import { campaigns } from "./campaigns.js"
import { productOf } from "./catalog.js"
import { monthlyRates } from "./charts.js"
import type { Customer, ShopTables } from "./db.js"
import type { Html } from "./html.js"
import {
  adminLoginPage,
  campaignsPage,
  customerPage,
  customersPage,
  type Dashboard,
  dashboardPage,
  erasureReceiptPage,
  lagOf,
} from "./pages/admin.js"
import type { Lang, PageContext } from "./pages/layout.js"
import {
  accountPage,
  erasedPage,
  erasePage,
  homePage,
  mailboxPage,
  privacyPage,
  productPage,
  signinPage,
} from "./pages/shop.js"
import type { ShopPolicy, ShopPurpose } from "./policy.js"
import type { AnalyticsCollector, LoyaltyCrm } from "./providers.js"
import {
  CUSTOMER_COOKIE,
  cookie,
  cookiesOf,
  LANG_COOKIE,
  OPERATOR_COOKIE,
  REGION_COOKIE,
  signer,
} from "./sessions.js"

/** The demo customers' password. */
export const CUSTOMER_PASSWORD = "siamtea"
/** The demo operator. */
export const OPERATOR = { user: "dpo" } as const

const DAY = 86_400_000
const REGIONS = new Set(["TH", "US-CA", "EU-DE"])

/** The visitor's chosen language, else the first of Thai and English their browser prefers, else Thai. */
export const langOf = (chosen: string | undefined, acceptLanguage: string | null): Lang => {
  if (chosen === "en" || chosen === "th") return chosen
  for (const part of (acceptLanguage ?? "").split(",")) {
    const tag = part.trim().toLowerCase()
    if (tag.startsWith("th")) return "th"
    if (tag.startsWith("en")) return "en"
  }
  return "th"
}

/** Compares a typed password with the admin's in constant time. */
const samePassword = (given: unknown, expected: string): boolean => {
  const digest = (v: string) => createHash("sha256").update(v, "utf8").digest()
  return typeof given === "string" && timingSafeEqual(digest(given), digest(expected))
}

/** What the routes need. */
export interface AppContext {
  readonly kit: Client<ShopPurpose>
  readonly policy: ShopPolicy
  readonly tables: ShopTables
  readonly secret: string
  /** The admin's password (made on first start, printed by `npm run demo`). */
  readonly adminPassword: string
  readonly publicUrl: string
  /** Origins the consent routes accept state changes from. */
  readonly allowedOrigins: ReadonlyArray<string>
  readonly tenant: string
  readonly posthog: PostHogTracker
  readonly mail: NodemailerMessenger
  readonly lineApi: LineMessenger
  readonly analytics: AnalyticsCollector
  readonly smtp: LocalSmtp
  readonly line: LocalLine
  readonly crm: LoyaltyCrm
}

const require = createRequire(import.meta.url)

/** The browser build of `@consentkit/web`, as the package publishes it. */
const webBundle = (): string => {
  const path = require.resolve("@consentkit/web/browser")
  try {
    return readFileSync(path, "utf8")
  } catch (cause) {
    throw new Error(
      `${path} is missing: build it with \`npm run build --workspace=@consentkit/web\` (\`npm run demo\` does this for you)`,
      { cause },
    )
  }
}

const asset = (name: string) => readFileSync(new URL(`../public/${name}`, import.meta.url), "utf8")

const VENDOR_LIST = JSON.parse(asset("vendor-list.json")) as object

/** Builds the Hono app. */
export const createApp = (ctx: AppContext) => {
  const { kit, tables, tenant } = ctx
  const sessions = signer(ctx.secret)
  const secure = ctx.publicUrl.startsWith("https:")
  const runs = campaigns({ tenant, tables, mail: ctx.mail, lineApi: ctx.lineApi, line: ctx.line })
  const assets = {
    web: webBundle(),
    css: asset("shop.css"),
    analytics: asset("analytics.js"),
    ads: asset("ads.js"),
  }

  const customerIdOf = (request: Request) =>
    sessions.verify(cookiesOf(request.headers.get("cookie")).get(CUSTOMER_COOKIE))
  const isOperator = (request: Request) =>
    sessions.verify(cookiesOf(request.headers.get("cookie")).get(OPERATOR_COOKIE)) === OPERATOR.user
  const regionOf = (request: Request) => {
    const region = cookiesOf(request.headers.get("cookie")).get(REGION_COOKIE)
    return region && REGIONS.has(region) ? region : "TH"
  }

  const pageContext = async (request: Request): Promise<PageContext> => {
    const cookies = cookiesOf(request.headers.get("cookie"))
    const id = customerIdOf(request)
    const customer = id ? await tables.customer(id) : null
    const url = new URL(request.url)
    return {
      lang: langOf(cookies.get(LANG_COOKIE), request.headers.get("accept-language")),
      path: `${url.pathname}${url.search}`,
      customer: customer && !customer.erased ? customer : null,
      operator: isOperator(request),
      region: regionOf(request),
    }
  }

  const page = (body: Html, status = 200, headers: Record<string, string> = {}) =>
    new Response(body.value, { status, headers: { "content-type": "text/html; charset=utf-8", ...headers } })
  const redirect = (to: string, cookies: ReadonlyArray<string> = []) => {
    const headers = new Headers({ location: to })
    for (const c of cookies) headers.append("set-cookie", c)
    return new Response(null, { status: 303, headers })
  }
  // Only local paths: a `back` parameter must never send the visitor elsewhere.
  const local = (to: unknown) =>
    typeof to === "string" && to.startsWith("/") && !to.startsWith("//") ? to : "/"

  const app = new Hono()

  // The consent routes: record, state, preferences, gated events, GPC, operator routes, one-click unsubscribe.
  const consentRoutes = consentMiddleware(kit, {
    tenant,
    identify: (request) => customerIdOf(request),
    jurisdiction: (request) => regionOf(request),
    authorizeOperator: (request) => isOperator(request),
    cookie: { secure },
    allowedOrigins: ctx.allowedOrigins,
    gpcLastUpdate: "2026-01-01",
    // IAB TCF v2.3 and GPP strings in /consent/state (the page's __tcfapi and __gpp serve them).
    // A demo CMP id and a small vendor list shipped with the demo: a real site registers its CMP
    // with the IAB and serves its copy of the published list (VendorList.fromUrl).
    iab: { cmpId: 300, cmpVersion: 1, vendorList: VENDOR_LIST, publisherCountryCode: "TH" },
    collect: async (event) => {
      await ctx.posthog.capture({
        tenant: event.tenant,
        subject: event.subject,
        purpose: event.purpose,
        event: event.name,
        properties: event.properties,
      })
    },
    routes: [oneClickUnsubscribe(kit, { secret: ctx.secret, path: "/unsubscribe" })],
    onError: (error) => console.error("consent route failed:", error),
  })
  app.use(consentRoutes)
  const consent = consentRoutes.handler

  app.get("/favicon.ico", () => new Response(null, { status: 204 }))
  app.get(
    "/assets/consentkit-web.js",
    () =>
      new Response(assets.web, {
        headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" },
      }),
  )
  app.get(
    "/assets/shop.css",
    () => new Response(assets.css, { headers: { "content-type": "text/css; charset=utf-8" } }),
  )
  app.get(
    "/assets/analytics.js",
    () => new Response(assets.analytics, { headers: { "content-type": "text/javascript; charset=utf-8" } }),
  )
  app.get(
    "/assets/ads.js",
    () => new Response(assets.ads, { headers: { "content-type": "text/javascript; charset=utf-8" } }),
  )

  // The shop.
  app.get("/", async (c) => page(homePage(await pageContext(c.req.raw))))
  app.get("/teas/:sku", async (c) => {
    const product = productOf(c.req.param("sku"))
    if (!product) return c.notFound()
    return page(productPage(await pageContext(c.req.raw), product))
  })
  app.get("/lang/:lang", (c) => {
    const lang: Lang = c.req.param("lang") === "en" ? "en" : "th"
    return redirect(local(c.req.query("back")), [
      cookie(LANG_COOKIE, lang, { maxAgeSeconds: 31_536_000, secure }),
    ])
  })
  app.post("/region", async (c) => {
    const form = await c.req.parseBody()
    const region = typeof form.region === "string" && REGIONS.has(form.region) ? form.region : "TH"
    return redirect(local(form.back), [cookie(REGION_COOKIE, region, { maxAgeSeconds: 31_536_000, secure })])
  })

  app.get("/signin", async (c) => page(signinPage(await pageContext(c.req.raw))))
  app.post("/signin", async (c) => {
    const form = await c.req.parseBody()
    const email = typeof form.email === "string" ? form.email : ""
    const customer = await tables.customerByEmail(email)
    if (!customer || form.password !== CUSTOMER_PASSWORD) {
      const pc = await pageContext(c.req.raw)
      return page(signinPage(pc, pc.lang === "th" ? "อีเมลหรือรหัสผ่านไม่ถูกต้อง" : "Wrong email or password."), 401)
    }
    // The next consent request links this browser's anonymous visitor id to the customer (kit.link).
    return redirect("/account", [cookie(CUSTOMER_COOKIE, sessions.sign(customer.id), { secure })])
  })
  app.post("/signout", () => redirect("/", [cookie(CUSTOMER_COOKIE, "", { maxAgeSeconds: 0, secure })]))
  app.get("/account", async (c) => {
    const pc = await pageContext(c.req.raw)
    return pc.customer ? page(accountPage(pc, pc.customer)) : redirect("/signin")
  })
  app.get("/privacy", async (c) => page(privacyPage(await pageContext(c.req.raw), ctx.policy)))

  app.get("/privacy/erase", async (c) => {
    const pc = await pageContext(c.req.raw)
    return page(erasePage(pc, pc.customer ? "customer" : "visitor"))
  })
  app.post("/privacy/erase", async (c) => {
    const pc = await pageContext(c.req.raw)
    const form = await c.req.parseBody()
    if (form.confirm !== "yes") return page(erasePage(pc, pc.customer ? "customer" : "visitor"), 400)
    // Only a visitor id the consent handler issued (its cookie is signed), never a raw cookie value.
    const visitor = await consent.visitorOf(c.req.raw)
    const subject = pc.customer?.id ?? visitor
    if (!subject) return redirect("/privacy")
    const requestedBy = pc.customer
      ? "the customer, through the shop's erasure form"
      : "an anonymous visitor, through the shop's erasure form"
    const { row } = await erase(subject, requestedBy)
    // Signed out, and a fresh visitor id: nothing in this browser points at the erased subject any more.
    const response = page(erasedPage({ ...pc, customer: null }, row.reference, row.receipt))
    response.headers.append("set-cookie", cookie(CUSTOMER_COOKIE, "", { maxAgeSeconds: 0, secure }))
    response.headers.append("set-cookie", cookie("ck_vid", "", { maxAgeSeconds: 0, secure }))
    return response
  })

  const erase = async (subject: string, requestedBy: string) => {
    const receipt = await kit.erase({ tenant, subject, requestedBy })
    const reference = `ER-${receipt.erasureId.slice(0, 8).toUpperCase()}`
    const row = { id: receipt.erasureId, reference, requestedAt: receipt.requestedAt, requestedBy, receipt }
    await tables.addErasure(row)
    return { row }
  }

  app.get("/mailbox", async (c) => {
    const pc = await pageContext(c.req.raw)
    const id = c.req.query("customer")?.trim() || null
    const customer = id ? await tables.customer(id) : null
    // An erased customer's row no longer holds the address: match what they were sent by id in that case.
    const address = customer?.email?.toLowerCase() ?? null
    const mails = id ? (address ? ctx.smtp.to(address) : []) : ctx.smtp.mails
    const lineMessages = customer?.lineUserId ? ctx.line.delivered(customer.lineUserId) : []
    return page(
      mailboxPage(pc, {
        customer: id ? (customer ?? ({ id, name: id } as Customer)) : null,
        mails: [...mails].reverse().slice(0, 100),
        line: [...lineMessages].reverse(),
        totals: { mails: ctx.smtp.mails.length, line: lineDeliveries() },
      }),
    )
  })
  const lineDeliveries = () =>
    ctx.line.requests.filter((r) => r.method === "POST" && /\/message\/(push|multicast)$/.test(r.path))
      .length + ctx.line.narrowcasts.reduce((n, x) => n + x.delivered.length, 0)

  // The admin.
  const operatorOnly = async (request: Request, then: (pc: PageContext) => Promise<Response>) => {
    const pc = await pageContext(request)
    return pc.operator ? then(pc) : redirect("/admin/login")
  }
  app.get("/admin/login", async (c) => page(adminLoginPage(await pageContext(c.req.raw))))
  app.post("/admin/login", async (c) => {
    const form = await c.req.parseBody()
    if (form.user !== OPERATOR.user || !samePassword(form.password, ctx.adminPassword)) {
      const pc = await pageContext(c.req.raw)
      return page(
        adminLoginPage(pc, pc.lang === "th" ? "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" : "Wrong user or password."),
        401,
      )
    }
    return redirect("/admin", [cookie(OPERATOR_COOKIE, sessions.sign(OPERATOR.user), { secure })])
  })
  app.post("/admin/logout", () => redirect("/", [cookie(OPERATOR_COOKIE, "", { maxAgeSeconds: 0, secure })]))

  app.get("/admin", (c) =>
    operatorOnly(c.req.raw, async (pc) => page(dashboardPage(pc, await dashboard(pc.lang)))),
  )

  const titleOf = (purpose: ShopPurpose, lang: Lang) => {
    const t = ctx.policy.purposes.get(purpose)!.title
    return lang === "th" ? (t.th ?? t.en) : t.en
  }

  const dashboard = async (lang: Lang): Promise<Dashboard> => {
    const now = Date.now()
    // Twelve whole months and this one.
    const start = new Date(now)
    const from = Date.UTC(start.getUTCFullYear() - 1, start.getUTCMonth() + 1, 1)
    const rows = await kit.rates(tenant, new Date(from), new Date(now + DAY))
    const choosable = ctx.policy.purposeIds.filter(
      (p) => ctx.policy.purposes.get(p)!.lawfulBasis === "consent",
    )
    const allowedNow = []
    for (const purpose of choosable) {
      let count = 0
      for await (const _ of kit.audience({ tenant, purpose })) count++
      allowedNow.push({ purpose, title: titleOf(purpose, lang), count })
    }
    const byName = new Map<string, number>()
    for (const e of ctx.analytics.events) byName.set(e.event, (byName.get(e.event) ?? 0) + 1)
    const erasures = await Promise.all(
      (await tables.erasures(10)).map(async (row) => ({
        row,
        status: await kit.erasureStatus(tenant, row.id),
      })),
    )
    return {
      now,
      customers: await tables.countCustomers(),
      decisionsLastYear: rows.reduce((n, r) => n + r.count, 0),
      rates: choosable.map((purpose) => ({
        purpose,
        title: titleOf(purpose, lang),
        series: monthlyRates(rows, purpose, from, now),
      })),
      allowedNow,
      outbox: await kit.outbox.stats(tenant),
      deadLetters: await kit.outbox.deadLetters({ tenant, limit: 50 }),
      crmOnline: ctx.crm.online,
      tracker: {
        events: ctx.analytics.events.length,
        byName: [...byName.entries()].sort((a, b) => b[1] - a[1]),
        deletions: ctx.analytics.deletions.length,
      },
      messages: { mails: ctx.smtp.mails.length, line: lineDeliveries() },
      erasures,
    }
  }

  app.get("/admin/outbox.json", async (c) => {
    if (!isOperator(c.req.raw)) return c.json({ error: "operators only" }, 403)
    const stats = await kit.outbox.stats(tenant)
    return c.json({ ...stats, lag: lagOf(stats.oldestPendingAt, Date.now()) }, 200, {
      "cache-control": "no-store",
    })
  })
  app.post("/admin/outbox/replay", (c) =>
    operatorOnly(c.req.raw, async () => {
      const form = await c.req.parseBody({ all: true })
      const ids = ([] as Array<unknown>)
        .concat(form.id ?? [])
        .filter((id): id is string => typeof id === "string")
      if (ids.length > 0) await kit.outbox.replay(ids)
      return redirect("/admin#propagation-title")
    }),
  )
  app.post("/admin/crm", (c) =>
    operatorOnly(c.req.raw, async () => {
      const form = await c.req.parseBody()
      ctx.crm.setOnline(form.online === "yes")
      return redirect("/admin#propagation-title")
    }),
  )

  app.get("/admin/campaigns", (c) =>
    operatorOnly(c.req.raw, async (pc) => page(campaignsPage(pc, runs.runs))),
  )
  app.post("/admin/campaigns/newsletter", (c) =>
    operatorOnly(c.req.raw, async () => {
      await runs.newsletter()
      return redirect("/admin/campaigns")
    }),
  )
  app.post("/admin/campaigns/line", (c) =>
    operatorOnly(c.req.raw, async () => {
      await runs.lineMessage()
      return redirect("/admin/campaigns")
    }),
  )

  app.get("/admin/customers", (c) =>
    operatorOnly(c.req.raw, async (pc) => {
      const q = c.req.query("q") ?? ""
      const found = q ? await tables.search(q) : []
      if (found.length === 1) return redirect(`/admin/customers/${encodeURIComponent(found[0]!.id)}`)
      return page(customersPage(pc, q, found))
    }),
  )
  app.get("/admin/customers/:id", (c) =>
    operatorOnly(c.req.raw, async (pc) => {
      const id = c.req.param("id")
      const exported = await kit.export(tenant, id)
      return page(
        customerPage(pc, {
          id,
          customer: await tables.customer(id),
          decisions: exported.decisions,
          events: await kit.history(tenant, id),
          verification: exported.chain,
          receipts: exported.receipts,
          aliases: exported.aliases,
        }),
      )
    }),
  )
  app.post("/admin/customers/:id/erase", (c) =>
    operatorOnly(c.req.raw, async () => {
      const form = await c.req.parseBody()
      const id = c.req.param("id")
      if (form.confirm !== "yes") return redirect(`/admin/customers/${encodeURIComponent(id)}`)
      const { row } = await erase(id, `operator ${OPERATOR.user}, from the admin`)
      return redirect(`/admin/erasures/${row.id}`)
    }),
  )
  app.get("/admin/erasures/:id", (c) =>
    operatorOnly(c.req.raw, async (pc) => {
      const row = await tables.erasure(c.req.param("id"))
      if (!row) return c.notFound()
      const status = await kit.erasureStatus(tenant, row.id)
      const proof = await kit.runtime.runPromise(
        ConsentKit.ConsentKit.use((k) => k.store.erasedHistory(tenant, row.receipt.pseudonym)),
      )
      return page(erasureReceiptPage(pc, row, status, proof.length))
    }),
  )

  return app
}
