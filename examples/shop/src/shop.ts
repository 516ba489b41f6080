/**
 * The demo shop in one call: opens (and migrates) the SQLite file, seeds it on first start, starts
 * the local providers, wires the real tracker and messenger adapters into a consentkit client
 * whose dispatcher runs in this process, and serves the shop on Hono with the consent routes from
 * `@consentkit/adapter-hono`.
 */
import { mkdirSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { lineMessenger } from "@consentkit/adapter-line"
import { type LocalLine, localLine } from "@consentkit/adapter-line/testing"
import { nodemailerMessenger } from "@consentkit/adapter-nodemailer"
import { type LocalSmtp, localSmtp } from "@consentkit/adapter-nodemailer/testing"
import { posthog as posthogAdapter } from "@consentkit/adapter-posthog"
import { Adapter, type Client, createConsentKit } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { serve } from "@hono/node-server"
import nodemailer from "nodemailer"
import { PostHog } from "posthog-node"
import { createApp } from "./app.js"
import { localSecrets } from "./secrets.js"
import { type ShopTables, shopTables } from "./db.js"
import { type AnalyticsCollector, analyticsCollector, type LoyaltyCrm, loyaltyCrm } from "./providers.js"
import { type ShopPolicy, type ShopPurpose, shopPolicy, TENANT } from "./policy.js"
import { type SeedSummary, seed } from "./seed.js"

/** Options of `startShop`. */
export interface ShopOptions {
  /** Port to serve on (default 3000; 0 picks a free one). */
  readonly port?: number
  /** Interface to listen on (default 127.0.0.1). */
  readonly hostname?: string
  /** The SQLite file (default `examples/shop/.data/shop.sqlite`). */
  readonly database?: string
  /** Customers to seed when the database is empty (default 2,000). */
  readonly customers?: number
  /** The shop's public origin, for links in mails (default `http://localhost:<port>`). */
  readonly publicUrl?: string
  /** Secret for session cookies, unsubscribe tokens and erasure pseudonyms. */
  readonly secret?: string
  /** The admin password (default: made on first start and kept in `secrets.json` beside the database). */
  readonly adminPassword?: string
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void
}

/** The shop's consentkit client. */
export type ShopKit = Client<ShopPurpose>

/** A running shop and its local providers, for tests and the CLI. */
export interface Shop {
  readonly url: string
  /** The admin's password (user `dpo`): made on first start unless given. */
  readonly adminPassword: string
  readonly kit: ShopKit
  readonly policy: ShopPolicy
  readonly tables: ShopTables
  readonly analytics: AnalyticsCollector
  readonly smtp: LocalSmtp
  readonly line: LocalLine
  readonly crm: LoyaltyCrm
  /** What first-start seeding did; null when the database already had customers. */
  readonly seeded: SeedSummary | null
  readonly close: () => Promise<void>
}

/** The default database file. */
export const DEFAULT_DATABASE = resolve(dirname(fileURLToPath(import.meta.url)), "..", ".data", "shop.sqlite")

const PROJECT_TOKEN = "phc_siamtea_demo"
const PERSONAL_API_KEY = "phx_siamtea_demo"
const LINE_TOKEN = "siamtea-line-channel-token"

/** Starts the shop; resolves once it serves. */
export const startShop = async (options: ShopOptions = {}): Promise<Shop> => {
  const log = options.log ?? (() => undefined)
  const database = options.database ?? DEFAULT_DATABASE
  if (database !== ":memory:") mkdirSync(dirname(resolve(database)), { recursive: true })
  // No default secrets: made on first start and kept beside the database, unless given.
  const saved = localSecrets(database)
  const secret = options.secret ?? saved.secret
  const adminPassword = options.adminPassword ?? saved.adminPassword

  // 1. The store and the shop's own tables, in one SQLite file (consentkit migrates its tables).
  const opened = await openStore(
    database.endsWith(".sqlite") || database === ":memory:" ? database : `sqlite:${database}`,
  )
  const tables = shopTables(opened.database.db)
  await tables.migrate()
  const anchor = new Date(await tables.meta("anchor", () => new Date().toISOString()))
  const policy = shopPolicy(anchor)

  // 2. First start: a year of history for a few thousand customers.
  let seeded: SeedSummary | null = null
  if ((await tables.countCustomers()) === 0) {
    const count = options.customers ?? 2_000
    log(`seeding ${count.toLocaleString("en")} customers with a year of consent history (first start only)…`)
    const started = Date.now()
    seeded = await seed({ store: opened.store, tables, policy, anchor, customers: count, secret })
    log(
      `seeded ${seeded.decisions.toLocaleString("en")} decisions in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    )
  }

  // 3. The providers: real servers on 127.0.0.1 that the real SDKs talk to.
  const analytics = await analyticsCollector({
    projectToken: PROJECT_TOKEN,
    personalApiKey: PERSONAL_API_KEY,
  })
  const smtp = await localSmtp()
  const line = await localLine({ channelAccessToken: LINE_TOKEN })
  line.follow(...(await tables.lineUserIds()))
  const crm = await loyaltyCrm()

  // 4. Listen first: mails carry links to this origin, so the adapters need it.
  let handle: (request: Request) => Response | Promise<Response> = () =>
    new Response("starting", { status: 503, headers: { "retry-after": "1" } })
  const server = serve({
    fetch: (request) => handle(request),
    port: options.port ?? 3000,
    hostname: options.hostname ?? "127.0.0.1",
  })
  await new Promise<void>((ready, fail) => {
    server.once("listening", () => ready())
    server.once("error", fail)
  })
  const address = server.address()
  const port = typeof address === "object" && address ? address.port : (options.port ?? 3000)
  const url = `http://${options.hostname && options.hostname !== "0.0.0.0" ? options.hostname : "127.0.0.1"}:${port}`
  const publicUrl = (options.publicUrl ?? `http://localhost:${port}`).replace(/\/+$/, "")

  // 5. The adapters, each the real integration behind the consent gate.
  const posthogClient = new PostHog(PROJECT_TOKEN, {
    host: analytics.url,
    flushAt: 1,
    flushInterval: 250,
    fetchRetryCount: 1,
  })
  const posthogDescriptor = posthogAdapter({
    client: posthogClient,
    deletion: { projectId: 1, personalApiKey: PERSONAL_API_KEY, apiHost: analytics.url },
  })
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
  })
  const mailDescriptor = nodemailerMessenger({
    transport,
    from: "Siam Tea Co. <news@siamtea.example>",
    recipients: {
      resolve: async (_tenant, subject) => (await tables.customer(subject))?.email ?? null,
      forget: ({ subject }) => tables.forgetEmail(subject),
    },
    unsubscribe: { url: `${publicUrl}/consent/unsubscribe`, secret },
  })
  const lineDescriptor = lineMessenger({
    channelAccessToken: LINE_TOKEN,
    baseURL: line.url,
    recipients: {
      resolve: async (_tenant, subject) => (await tables.customer(subject))?.lineUserId ?? null,
      forget: ({ subject }) => tables.forgetLine(subject),
    },
  })
  const crmAdapter = Adapter.fromHandlers({
    name: "loyalty-crm",
    role: "cdp",
    handlers: {
      "consent.changed": async (intent) => {
        const response = await fetch(`${crm.url}/customers/${encodeURIComponent(intent.subject)}/consents`, {
          method: "PUT",
          headers: { "content-type": "application/json", "idempotency-key": intent.id },
          body: JSON.stringify({ changes: intent.changes }),
        })
        if (!response.ok) throw new Error(`loyalty CRM answered ${response.status}`)
      },
      "subject.erase": async (intent) => {
        const response = await fetch(`${crm.url}/customers/${encodeURIComponent(intent.subject)}`, {
          method: "DELETE",
        })
        if (!response.ok) throw new Error(`loyalty CRM answered ${response.status}`)
      },
    },
  })
  const kit: ShopKit = createConsentKit({
    policy,
    store: opened.store,
    secret,
    trackers: [posthogDescriptor],
    messengers: [mailDescriptor, lineDescriptor],
    adapters: [crmAdapter],
    // Short retries so the demo's dead letters appear within seconds of taking the CRM offline.
    dispatcher: { maxAttempts: 4, baseDelayMs: 1_000, maxDelayMs: 8_000, pollMs: 500 },
  })
  // Each adapter as the kit built it, with the kit's gate.
  const posthog = kit.adapter(posthogDescriptor)
  const mail = kit.adapter(mailDescriptor)
  const lineApi = kit.adapter(lineDescriptor)

  const app = createApp({
    kit,
    policy,
    tables,
    secret,
    adminPassword,
    publicUrl,
    allowedOrigins: [...new Set([new URL(publicUrl).origin, url, `http://localhost:${port}`])],
    posthog,
    mail,
    lineApi,
    analytics,
    smtp,
    line,
    crm,
    tenant: TENANT,
  })
  handle = app.fetch

  return {
    url,
    adminPassword,
    kit,
    policy,
    tables,
    analytics,
    smtp,
    line,
    crm,
    seeded,
    close: async () => {
      await new Promise<void>((done) => {
        ;(server as import("node:http").Server).closeAllConnections()
        server.close(() => done())
      })
      await kit.close()
      await posthogClient.shutdown()
      transport.close()
      await Promise.all([analytics.close(), smtp.close(), line.close(), crm.close()])
      await opened.close()
    },
  }
}
