import { createConsentKit } from "@consentkit/core"
import { kyselyStore, openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { type CompiledQuery, Kysely, PostgresDialect, sql } from "kysely"
import pg from "pg"
import { describe, expect, it } from "vitest"
import { dialects } from "./dialects.js"
import { freshTenant, policy } from "./fixtures/policy.js"
import { seedStates } from "./fixtures/seed.js"

const SUBJECTS = 200_000
const PAGE = 1_000
const subjectOf = (i: number) => `m-${String(i).padStart(7, "0")}`

// Every third subject withdrew email offers; one in ten who granted them refused marketing as a whole.
const purposesOf = (i: number) => [
  { purpose: "marketing.email", status: i % 3 === 0 ? ("withdrawn" as const) : ("granted" as const) },
  ...(i % 10 === 1 ? [{ purpose: "marketing", status: "withdrawn" as const }] : []),
]

let granted = 0
let allowed = 0
for (let i = 0; i < SUBJECTS; i++) {
  if (i % 3 === 0) continue
  granted++
  if (i % 10 !== 1) allowed++
}

// SQLite, and PostgreSQL when it is set (its plans at this size are the ones that matter): the
// other engines run the same keyset pages in the conformance suite, at a size that costs less.
const engines = dialects().filter((d) => d.name === "sqlite" || d.name === "postgres")

describe.each(engines)("audience of 200,000 subjects ($name)", (dialect) => {
  it("streams the consenting audience one bounded page at a time", async () => {
    const { store, close } = await openStore(dialect.url())
    const tenant = freshTenant("aud")
    try {
      await seedStates(store, tenant, SUBJECTS, subjectOf, purposesOf)

      // Watch what the store hands over: never more than one page of subject states at a time.
      let pages = 0
      let largest = 0
      let rows = 0
      const watched = {
        ...store,
        audiencePage: (options: Parameters<typeof store.audiencePage>[0]) =>
          store.audiencePage(options).pipe(
            Effect.tap((page) =>
              Effect.sync(() => {
                pages++
                rows += page.states.length
                largest = Math.max(largest, page.states.length)
              }),
            ),
          ),
      }
      const kit = createConsentKit({
        policy,
        store: watched,
        secret: "s-0123456789abcdef0123456789abcdef",
        dispatcher: { autoStart: false },
      })
      let count = 0
      let previous = ""
      let outOfOrder = 0
      try {
        for await (const subject of kit.audience({ tenant, purpose: "marketing.email", pageSize: PAGE })) {
          if (subject <= previous) outOfOrder++
          previous = subject
          count++
        }
      } finally {
        await kit.close()
      }
      expect(count).toBe(allowed)
      expect(outOfOrder).toBe(0)
      // The store read every granted subject exactly once, in pages of at most PAGE states: that
      // page is all the memory the stream holds, whatever the audience's size.
      expect(rows).toBe(granted)
      expect(largest).toBeLessThanOrEqual(PAGE)
      expect(pages).toBe(Math.ceil(granted / PAGE))

      if (dialect.name === "postgres") {
        // At this size PostgreSQL's own choice for a page is the audience index, in order, no sort.
        const captured: Array<CompiledQuery> = []
        const db = new Kysely<any>({
          dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: dialect.url(), max: 1 }) }),
          log: (event) => {
            if (event.level === "query") captured.push(event.query)
          },
        })
        try {
          await sql`analyze consentkit_state`.execute(db)
          captured.length = 0
          await Effect.runPromise(
            kyselyStore({ db, dialect: "postgres" }).audiencePage({
              tenant,
              purposes: ["marketing.email"],
              after: subjectOf(SUBJECTS / 2),
              limit: PAGE,
            }),
          )
          const page = captured[0]!
          const plan = await db.executeQuery<{ "QUERY PLAN": string }>({
            ...page,
            sql: `explain ${page.sql}`,
          } as CompiledQuery)
          const text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n")
          expect(text).toMatch(
            /Index Only Scan using consentkit_state_audience|Index Scan using consentkit_state_audience/,
          )
          expect(text).not.toMatch(/Seq Scan|\bSort\b/)
        } finally {
          await db.destroy()
        }
      }
    } finally {
      // The server's tables are shared between runs: take this test's 200,000 rows away again.
      if (dialect.name !== "sqlite") {
        await store.db.deleteFrom("state").where("tenant", "=", tenant).execute()
        await store.db.deleteFrom("subject").where("tenant", "=", tenant).execute()
      }
      await close()
    }
  }, 300_000)
})
