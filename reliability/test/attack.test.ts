/**
 * The attack suite: every finding of the boundary review, tried over real HTTP (`node:http`) against
 * a server set up as the READMEs say, on SQLite and PostgreSQL. Each attack asserts the refusal and
 * that nothing was written (row counts of every table, or the victim's ledger).
 */
import { request as httpRequest } from "node:http"
import { unfollowWebhook } from "@consentkit/adapter-line"
import { type Client, createConsentKit, InvalidCommand, Policy, WeakSecret } from "@consentkit/core"
import { type HandlerOptions, operatorToken } from "@consentkit/http"
import { sql } from "kysely"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { silentAdapters } from "./support/applying.js"
import { DIALECTS, openTestDatabase, type TestDatabase } from "./support/db.js"
import { SECRET, uniqueTenant } from "./support/policy.js"
import { serve } from "./support/server.js"

const v1 = (textHash: string) => [
  { version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash, material: true },
]
/** The suite's policy: marketing is a sale/sharing purpose that a binding GPC signal opts out of. */
const policy = Policy.define({
  controller: {
    name: "Attack Co.",
    contact: "DPO",
    email: "dpo@attack.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://attack.example/privacy",
  purposes: {
    analytics: { title: { en: "Analytics" }, versions: v1("a1"), trackerCategories: ["analytics"] },
    marketing: { title: { en: "Marketing" }, versions: v1("m1"), gpc: true },
    "marketing.line": { title: { en: "LINE messages" }, versions: v1("l1"), channels: ["line"] },
  },
})
type Purpose = (typeof policy.purposeIds)[number]

const ORIGIN = "https://shop.example"
const OPERATOR_TOKEN = "operator-token-for-the-attack-suite-0123456789"
const LINE_SECRET = "line-channel-secret-of-the-attack-suite"
/** The host's sessions: a session token → the customer it signed in. */
const SESSIONS = new Map([
  ["sess-alice", "cust-alice"],
  ["sess-mallory", "cust-mallory"],
])

for (const { name, enabled } of DIALECTS) {
  describe.runIf(enabled)(`attacks at the boundary (${name})`, () => {
    let database: TestDatabase
    let kit: Client<Purpose>
    let server: { url: string; close: () => Promise<void> }
    let closedOperator: { url: string; close: () => Promise<void> }
    const tenant = uniqueTenant("attack")
    let webhookRan = 0

    const options: HandlerOptions = {
      tenant,
      identify: (r) => SESSIONS.get(r.headers.get("x-session") ?? "") ?? null,
      jurisdiction: (r) => r.headers.get("x-geo") ?? undefined,
      authorizeOperator: operatorToken(OPERATOR_TOKEN),
      allowedOrigins: [ORIGIN],
      cookie: { secure: false },
      bodyTimeoutMs: 400,
      routes: [],
    }

    beforeAll(async () => {
      database = await openTestDatabase(name)
      kit = createConsentKit({
        policy,
        store: database.store,
        secret: SECRET,
        adapters: silentAdapters(),
        dispatcher: { autoStart: false },
      })
      const line = unfollowWebhook(kit, { tenant, channelSecret: LINE_SECRET, path: "/line/webhook" })
      server = await serve(kit, {
        ...options,
        routes: [
          {
            ...line,
            handle: (request, context) => {
              webhookRan++
              return line.handle(request, context)
            },
          },
        ],
      })
      // The README's operator hook with the token unset: every operator request is refused.
      closedOperator = await serve(kit, {
        ...options,
        authorizeOperator: operatorToken(undefined, { onMisconfigured: () => undefined }),
      })
      // The victim: a customer with a standing grant and an erasable history.
      await kit.record({
        tenant,
        subject: "cust-alice",
        source: "pos",
        decisions: [{ purpose: "marketing", action: "grant", noticeVersion: 1 }],
      })
    })
    afterAll(async () => {
      await server?.close()
      await closedOperator?.close()
      await kit?.close()
      await database?.dispose()
    })

    /** Rows in every table of the store but the migrations'. */
    const rowCounts = async (): Promise<Record<string, number>> => {
      const counts: Record<string, number> = {}
      for (const table of await database.tables()) {
        if (table.includes("migration")) continue
        const rows = await sql<{ n: unknown }>`select count(*) as n from ${sql.table(table)}`.execute(
          database.db,
        )
        counts[table] = Number(rows.rows[0]!.n)
      }
      return counts
    }
    /** Runs `attack` and asserts no table gained a row. */
    const writesNothing = async (attack: () => Promise<void>) => {
      const before = await rowCounts()
      await attack()
      expect(await rowCounts()).toEqual(before)
    }
    const aliceHistory = async () => (await kit.history(tenant, "cust-alice")).map((e) => e.action)

    const call = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
      fetch(`${server.url}${path}`, init)
    /** A browser's JSON write from the shop's own origin. */
    const write = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      call(path, {
        method: "POST",
        headers: { "content-type": "application/json", origin: ORIGIN, ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      })
    /** A visitor the server issued: its id and the cookie header carrying it. */
    const visitor = async () => {
      const set = (await call("/consent/state")).headers.getSetCookie()[0]!
      const value = decodeURIComponent(set.split(";")[0]!.slice("ck_vid=".length))
      return { id: value.split(".")[0]!, cookie: `ck_vid=${value}` }
    }
    const withdrawMarketing = { decisions: [{ purpose: "marketing", action: "withdraw" }] }

    test("critical: a customer's id as the visitor cookie reads and changes nothing of theirs", async () => {
      for (const forged of ["cust-alice", `v_${"A".repeat(22)}.${"B".repeat(43)}`]) {
        const state = await call("/consent/state", { headers: { cookie: `ck_vid=${forged}` } })
        const marketing = (await state.json()).decisions.find(
          (d: { purpose: string }) => d.purpose === "marketing",
        )
        expect(marketing).toMatchObject({ allowed: false, reason: "no_consent" })
        const prefs = await call("/consent/preferences", { headers: { cookie: `ck_vid=${forged}` } })
        const choice = (await prefs.json()).purposes.find((p: { id: string }) => p.id === "marketing").choice
        expect(choice.allowed).toBe(false)
        expect(
          (await write("/consent/record", withdrawMarketing, { cookie: `ck_vid=${forged}` })).status,
        ).toBe(201)
      }
      expect(await aliceHistory()).toEqual(["grant"])
    })

    test("a visitor cookie from another tenant or with an altered signature is a new visitor", async () => {
      const { id, cookie } = await visitor()
      await write(
        "/consent/record",
        { decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 1 }] },
        { cookie },
      )
      const altered = `${cookie.slice(0, -2)}${cookie.endsWith("AA") ? "BB" : "AA"}`
      const response = await call("/consent/state", { headers: { cookie: altered } })
      expect(response.headers.getSetCookie()[0]).toMatch(/^ck_vid=v_/)
      expect(
        (await response.json()).decisions.find((d: { purpose: string }) => d.purpose === "analytics").allowed,
      ).toBe(false)
      const other = await serve(kit, { ...options, tenant: `${tenant}-b` })
      try {
        const foreign = await fetch(`${other.url}/consent/state`, { headers: { cookie } })
        // Another tenant's handler does not take the cookie: it issues a visitor of its own.
        const fresh = foreign.headers.getSetCookie()[0]
        expect(fresh).toMatch(/^ck_vid=v_/)
        expect(fresh).not.toContain(id)
      } finally {
        await other.close()
      }
      expect((await kit.history(tenant, id)).map((e) => e.action)).toEqual(["grant"])
    })

    test("high: a logged-in attacker cannot plant another subject as their alias", async () => {
      await writesNothing(async () => {
        for (const planted of ["cust-alice", `v_${"C".repeat(22)}.${"D".repeat(43)}`]) {
          const response = await call("/consent/state", {
            headers: { cookie: `ck_vid=${planted}`, "x-session": "sess-mallory" },
          })
          expect(response.status).toBe(200)
        }
      })
      const exported = await kit.export(tenant, "cust-mallory")
      expect(exported.aliases).toEqual([])
      expect(await kit.resolveAlias(tenant, { kind: "anonymous", value: "cust-alice" })).toBeNull()
    })

    test("high: operator routes are closed when the token is unset, and refuse a wrong token", async () => {
      await writesNothing(async () => {
        for (const authorization of [`Bearer ${OPERATOR_TOKEN}`, "Bearer undefined", "Bearer "]) {
          const closed = await fetch(`${closedOperator.url}/consent/subjects/cust-alice/erase`, {
            method: "POST",
            headers: { authorization, "content-type": "application/json", origin: ORIGIN },
            body: "{}",
          })
          expect(closed.status).toBe(403)
        }
        for (const authorization of [
          `Bearer ${OPERATOR_TOKEN.slice(0, -1)}`,
          `Bearer ${OPERATOR_TOKEN}x`,
          OPERATOR_TOKEN,
        ]) {
          const wrong = await write("/consent/subjects/cust-alice/erase", {}, { authorization })
          expect(wrong.status).toBe(403)
          const history = await call("/consent/subjects/cust-alice/history", { headers: { authorization } })
          expect(history.status).toBe(403)
        }
      })
      expect(await aliceHistory()).toEqual(["grant"])
    })

    test("high: a 64 MB webhook body is refused with 413 before the webhook reads or checks it", async () => {
      await writesNothing(async () => {
        const declared = await rawPost(server.url, "/consent/line/webhook", {
          headers: {
            "content-type": "application/json",
            "x-line-signature": "forged",
            "content-length": String(64 * 1024 * 1024),
          },
          chunks: ["{"],
        })
        expect(declared).toBe(413)
        // Chunked, with no length declared: counted as it arrives and cut at the limit.
        const streamed = await rawPost(server.url, "/consent/line/webhook", {
          headers: {
            "content-type": "application/json",
            "x-line-signature": "forged",
            "transfer-encoding": "chunked",
          },
          chunks: Array.from({ length: 20 }, () => "x".repeat(16 * 1024)),
        })
        expect(streamed).toBe(413)
      })
      expect(webhookRan).toBe(0)
    })

    test("high: a body that arrives too slowly is answered 408 and the route never runs", async () => {
      await writesNothing(async () => {
        const status = await rawPost(server.url, "/consent/line/webhook", {
          headers: {
            "content-type": "application/json",
            "x-line-signature": "forged",
            "content-length": "100",
          },
          chunks: ['{"events":['],
          holdOpenMs: 3_000,
        })
        expect(status).toBe(408)
      })
      expect(webhookRan).toBe(0)
    })

    test("medium: one visitor's idempotency key neither returns their receipt nor drops another's withdrawal", async () => {
      const a = await visitor()
      const b = await visitor()
      const grant = {
        idempotencyKey: "k-1",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 1 }],
      }
      const first = await (await write("/consent/record", grant, { cookie: a.cookie })).json()
      const second = await write(
        "/consent/record",
        { idempotencyKey: "k-1", decisions: [{ purpose: "analytics", action: "withdraw" }] },
        { cookie: b.cookie },
      )
      expect(second.status).toBe(201)
      const body = await second.json()
      expect(body.duplicate).toBe(false)
      expect(body.commandId).not.toBe(first.commandId)
      expect((await kit.history(tenant, b.id)).map((e) => e.action)).toEqual(["withdraw"])
    })

    test("medium: a browser cannot choose its own time, place, age, source or notice hash", async () => {
      const { id, cookie } = await visitor()
      const grant = { purpose: "analytics", action: "grant", noticeVersion: 1 }
      await writesNothing(async () => {
        for (const extra of [
          { occurredAt: "2025-02-01T00:00:00Z" },
          { jurisdiction: "US-CA" },
          { age: 30 },
          { source: "import" },
          { source: "pos" },
          { evidence: { noticeHash: "sha256-of-a-notice-never-shown" } },
          { evidence: { userAgent: "forged" } },
        ]) {
          const response = await write("/consent/record", { decisions: [grant], ...extra }, { cookie })
          expect(response.status, JSON.stringify(extra)).toBe(400)
        }
      })
      // The jurisdiction comes from the host's hook, the notice hash from the policy.
      const ok = await write("/consent/record", { decisions: [grant] }, { cookie, "x-geo": "TH" })
      const receipt = (await ok.json()).receipt
      expect(receipt.ckDecisions[0].noticeHash).toBe("a1")
      const [event] = await kit.history(tenant, id)
      expect(event).toMatchObject({ jurisdiction: "TH", source: "banner" })
      expect(Math.abs(event!.occurredAt.getTime() - Date.now())).toBeLessThan(60_000)
    })

    test("medium: cross-site writes are refused before anything is written (link and GPC included)", async () => {
      const { cookie } = await visitor()
      const body = JSON.stringify({
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 1 }],
      })
      // A logged-in customer with a valid visitor cookie and GPC: a refused write must not link or record GPC.
      const session = { cookie, "x-session": "sess-mallory", "sec-gpc": "1", "x-geo": "US-CA" }
      await writesNothing(async () => {
        const attempts: Array<[Record<string, string>, number]> = [
          [{ "content-type": "text/plain", origin: ORIGIN }, 415],
          [{ "content-type": "application/x-www-form-urlencoded", origin: ORIGIN }, 415],
          [{ origin: ORIGIN }, 415],
          [{ "content-type": "application/json", origin: "https://evil.example" }, 403],
          [{ "content-type": "application/json" }, 403],
          [{ "content-type": "application/json", "sec-fetch-site": "cross-site" }, 403],
        ]
        for (const [headers, status] of attempts) {
          for (const path of ["/consent/record", "/consent/subjects/cust-alice/erase"]) {
            const response = await call(path, {
              method: "POST",
              headers: { ...session, authorization: `Bearer ${OPERATOR_TOKEN}`, ...headers },
              body,
            })
            expect(response.status, `${path} ${JSON.stringify(headers)}`).toBe(status)
          }
        }
      })
      expect(await aliceHistory()).toEqual(["grant"])
    })

    test("medium: a cookieless GET carrying Sec-GPC writes nothing", async () => {
      await writesNothing(async () => {
        for (let i = 0; i < 5; i++) {
          const response = await call("/consent/state", { headers: { "sec-gpc": "1", "x-geo": "US-CA" } })
          const marketing = (await response.json()).decisions.find(
            (d: { purpose: string }) => d.purpose === "marketing",
          )
          expect(marketing).toMatchObject({ allowed: false })
        }
      })
    })

    test("low: JSON nested 20,000 deep is a 400, not a 500, and writes nothing", async () => {
      const { cookie } = await visitor()
      await writesNothing(async () => {
        const deep = `${"[".repeat(20_000)}${"]".repeat(20_000)}`
        const response = await write("/consent/record", deep, { cookie })
        expect(response.status).toBe(400)
        let nested = '"x"'
        for (let i = 0; i < 200; i++) nested = `{"n":${nested}}`
        const evidence = await write(
          "/consent/record",
          `{"decisions":[{"purpose":"analytics","action":"grant","noticeVersion":1}],"evidence":{"metadata":${nested}}}`,
          { cookie },
        )
        expect(evidence.status).toBe(400)
      })
    })

    test("low: ids that are not well-formed Unicode are refused by the store's kit and write nothing", async () => {
      await writesNothing(async () => {
        for (const subject of ["cust-\uD800", "\uDFFFcust", "cafe\u0301"]) {
          const error = await kit
            .record({
              tenant,
              subject,
              source: "pos",
              decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 1 }],
            })
            .catch((e: unknown) => e)
          expect(error).toBeInstanceOf(InvalidCommand)
        }
      })
    })

    test("weak secrets are refused at construction and nothing reaches the store", async () => {
      await writesNothing(async () => {
        for (const secret of ["", "dev-only", "change-me", "short-secret"]) {
          expect(() => createConsentKit({ policy, store: database.store, secret })).toThrow(WeakSecret)
        }
        expect(() => unfollowWebhook(kit, { tenant, channelSecret: " ", path: "/x" })).toThrow(
          /channelSecret/,
        )
      })
    })
  })
}

/**
 * A POST over a raw `node:http` request: the headers as given (even a false `content-length`), the
 * chunks written one by one, then the connection held open for `holdOpenMs` before ending; resolves
 * with the status the server answered.
 */
const rawPost = (
  base: string,
  path: string,
  options: { headers: Record<string, string>; chunks: ReadonlyArray<string>; holdOpenMs?: number },
): Promise<number> =>
  new Promise((resolve, reject) => {
    const url = new URL(path, base)
    const req = httpRequest(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: options.headers,
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
        req.destroy()
      },
    )
    req.on("error", (error) => {
      // The server may close the connection after answering; the status has been seen by then.
      if (
        (error as NodeJS.ErrnoException).code !== "ECONNRESET" &&
        (error as NodeJS.ErrnoException).code !== "EPIPE"
      )
        reject(error)
    })
    void (async () => {
      for (const chunk of options.chunks) {
        if (req.destroyed) return
        req.write(chunk)
        await new Promise((r) => setTimeout(r, 5))
      }
      if (options.holdOpenMs) await new Promise((r) => setTimeout(r, options.holdOpenMs))
      if (!req.destroyed) req.end()
    })()
  })
