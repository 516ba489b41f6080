import type { State } from "@consentkit/core"
import { num, subjectStateOf } from "../internal/codec.js"
import { TABLES } from "../schema.js"
import type { StoreContext } from "./context.js"
import type { KyselyConsentStore } from "./types.js"

/** Reads over many subjects: audience pages, subject lists and row counts. */
export const support = ({
  query,
}: StoreContext): Pick<KyselyConsentStore, "audiencePage" | "subjects" | "rowsOf"> => ({
  audiencePage: ({ tenant, purposes, after, limit }) =>
    query("read an audience page", async (conn) => {
      if (purposes.length === 0 || limit <= 0) return { states: [], next: null }
      // One ordered index range per purpose, merged: each branch reads at most limit + 1 rows.
      const branch = (purpose: string) => {
        let q = conn
          .selectFrom("state")
          .select("subject")
          .where("tenant", "=", tenant)
          .where("purpose", "=", purpose)
          .where("status", "=", "granted")
        if (after !== null) q = q.where("subject", ">", after)
        return q.orderBy("subject").limit(limit + 1)
      }
      let merged = conn.selectFrom(branch(purposes[0]!).as("p0")).select("p0.subject")
      for (let i = 1; i < purposes.length; i++) {
        merged = merged.union(
          conn.selectFrom(branch(purposes[i]!).as(`p${i}`)).select(`p${i}.subject` as "p0.subject"),
        )
      }
      const ids = conn
        .selectFrom(merged.as("granted"))
        .select("granted.subject")
        .orderBy("granted.subject")
        .limit(limit + 1)
      // The page's ids joined (index seeks, in subject order) to their state rows in one
      // statement, rather than a second query with a list of a thousand ids. The subject rows
      // stay a lookup of their own: joined as well, PostgreSQL may sort the tenant's subject
      // rows for a merge join when its statistics are stale.
      const rows = await conn
        .selectFrom(ids.as("g"))
        .innerJoin("state as st", (j) => j.onRef("st.subject", "=", "g.subject").on("st.tenant", "=", tenant))
        .selectAll("st")
        .orderBy("g.subject")
        .execute()
      const groups: Array<{ readonly subject: string; readonly rows: typeof rows }> = []
      for (let i = 0; i < rows.length && groups.length <= limit; ) {
        let end = i + 1
        while (end < rows.length && rows[end]!.subject === rows[i]!.subject) end++
        groups.push({ subject: rows[i]!.subject, rows: rows.slice(i, end) })
        i = end
      }
      const page = groups.slice(0, limit)
      if (page.length === 0) return { states: [], next: null }
      const subjects = await conn
        .selectFrom("subject")
        .select(["tenant", "subject", "seq", "head", "jurisdiction", "age"])
        .where("tenant", "=", tenant)
        .where(
          "subject",
          "in",
          page.map((g) => g.subject),
        )
        .execute()
      const subjectRows = new Map(subjects.map((r) => [r.subject, r]))
      const states: Array<State.SubjectState> = []
      for (const g of page) {
        const state = subjectStateOf(subjectRows.get(g.subject), g.rows)
        if (state) states.push(state)
      }
      return { states, next: groups.length > limit ? page[page.length - 1]!.subject : null }
    }),

  subjects: ({ tenant, after, limit }) =>
    query("list subjects", async (conn) => {
      let q = conn
        .selectFrom("subject")
        .select("subject")
        .where("tenant", "=", tenant)
        .where("seq", "is not", null)
      if (after !== null) q = q.where("subject", ">", after)
      const rows = await q
        .orderBy("subject")
        .limit(limit + 1)
        .execute()
      const subjects = rows.slice(0, limit).map((r) => r.subject)
      return { subjects, next: rows.length > limit ? subjects[subjects.length - 1]! : null }
    }),

  rowsOf: (tenant) =>
    query("count rows", async (conn) => {
      let total = 0
      for (const table of TABLES) {
        const row = await conn
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .where("tenant", "=", tenant)
          .executeTakeFirstOrThrow()
        total += num(row.n as number)
      }
      return total
    }),
})
