import { PGlite } from "@electric-sql/pglite"
import { createConsentKit, Tracker } from "@consentkit/core"
import { type KyselyConsentStore, kyselyStore, migrate, PGliteDialect } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { type CompiledQuery, Kysely, PostgresDialect, sql } from "kysely"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { dialects } from "./dialects.js"
import { freshTenant, policy } from "./fixtures/policy.js"
import { seedStates } from "./fixtures/seed.js"

const postgres = dialects().filter((d) => d.name === "pglite" || d.name === "postgres")

/**
 * PostgreSQL's plans for the queries the store runs on its hot paths: decide (state), history,
 * audience pages, outbox claims and rates. Sequential scans are priced out, so a plan without
 * one shows an index serves the query whatever the table's size.
 */
describe.each(postgres)("PostgreSQL plans ($name)", (dialect) => {
  const captured: Array<CompiledQuery> = []
  let db: Kysely<any>
  let store: KyselyConsentStore
  let release: () => Promise<void>
  const tenant = freshTenant("plan")

  beforeAll(async () => {
    const log = (event: { level: string; query: CompiledQuery }) => {
      if (event.level === "query") captured.push(event.query)
    }
    if (dialect.name === "pglite") {
      const pglite = await PGlite.create()
      db = new Kysely({ dialect: new PGliteDialect({ pglite }), log })
      release = async () => {
        await db.destroy()
        await pglite.close()
      }
    } else {
      // One connection, so the session setting below applies to every query.
      db = new Kysely({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: dialect.url(), max: 1 }) }),
        log,
      })
      release = () => db.destroy()
    }
    await migrate(db)
    store = kyselyStore({ db, dialect: "postgres" })
    await seedStates(
      store,
      tenant,
      2_000,
      (i) => `p-${String(i).padStart(5, "0")}`,
      (i) => [{ purpose: "marketing.email", status: i % 2 === 0 ? "granted" : "withdrawn" }],
    )
    const kit = createConsentKit({
      policy,
      store,
      secret: "s-0123456789abcdef0123456789abcdef",
      trackers: [
        Tracker.make({ name: "plan-tracker", stop: async () => undefined, resume: async () => undefined }),
      ],
      dispatcher: { autoStart: false },
    })
    await kit.record({
      tenant,
      subject: "p-00001",
      source: "banner",
      decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
    })
    await kit.close()
    await sql`set enable_seqscan = off`.execute(db)
  }, 120_000)

  afterAll(async () => {
    await release?.()
  })

  /** The plan of every query `work` ran. */
  const plansOf = async (work: () => Promise<unknown>) => {
    captured.length = 0
    await work()
    const queries = captured.filter((q) => /^\s*(select|with|update)/i.test(q.sql))
    const plans: Array<string> = []
    for (const q of queries) {
      const result = await db.executeQuery<{ "QUERY PLAN": string }>({
        ...q,
        sql: `explain ${q.sql}`,
      } as CompiledQuery)
      plans.push(result.rows.map((r) => r["QUERY PLAN"]).join("\n"))
    }
    return plans
  }

  it("decide reads one subject by its keys", async () => {
    const plans = await plansOf(() => Effect.runPromise(store.state(tenant, "p-00001")))
    expect(plans).toHaveLength(1)
    expect(plans[0]).not.toMatch(/Seq Scan/)
    expect(plans[0]).toMatch(/consentkit_subject_pk/)
    expect(plans[0]).toMatch(/consentkit_state_pk/)
  })

  it("history walks one subject's chain in order", async () => {
    const plans = await plansOf(() => Effect.runPromise(store.history(tenant, "p-00001")))
    expect(plans[0]).toMatch(/consentkit_event_subject/)
    expect(plans[0]).not.toMatch(/Seq Scan|Sort/)
  })

  it("an audience page reads an ordered index range", async () => {
    const plans = await plansOf(() =>
      Effect.runPromise(
        store.audiencePage({ tenant, purposes: ["marketing.email"], after: "p-00500", limit: 100 }),
      ),
    )
    // Either index returns a tenant's subjects in order; which is cheaper is the planner's call on
    // the table's statistics (audience.test.ts checks the choice on 200,000 subjects).
    expect(plans[0]).toMatch(/Index (Only )?Scan using consentkit_state_(audience|pk)/)
    expect(plans[0]).not.toMatch(/\bSort\b/)
    for (const plan of plans) expect(plan).not.toMatch(/Seq Scan/)
  })

  it("an outbox claim finds due rows and each lane's head by index", async () => {
    const plans = await plansOf(() =>
      Effect.runPromise(
        store.claim({
          owner: "plan",
          limit: 10,
          leaseMs: 1_000,
          now: new Date(0),
          adapters: ["plan-tracker"],
        }),
      ),
    )
    // Which of the two outbox indexes serves which side, and whether as a plain or a bitmap index
    // scan, is the planner's call on the table's statistics (the shared server's table may hold
    // other suites' rows); either way an index finds the rows.
    const byIndex = (alias: string) =>
      new RegExp(
        `Index Scan using consentkit_outbox_(status|lane) on consentkit_outbox ${alias}\\b|` +
          `Bitmap Heap Scan on consentkit_outbox ${alias}\\b[^]*?Bitmap Index Scan on consentkit_outbox_(status|lane)\\b`,
      )
    expect(plans[0]).toMatch(byIndex("o"))
    expect(plans[0]).toMatch(byIndex("e"))
    expect(plans[0]).not.toMatch(/Seq Scan/)
  })

  it("rates read one tenant's events by time", async () => {
    const plans = await plansOf(() =>
      Effect.runPromise(store.rates({ tenant, from: new Date(0), to: new Date() })),
    )
    expect(plans[0]).toMatch(/consentkit_event_occurred/)
    expect(plans[0]).not.toMatch(/Seq Scan/)
  })
})
