import { type ConsentStore, type Ledger, State } from "@consentkit/core"
import type { Kysely } from "kysely"
import { commandOf, erasureOf, eventOf, num, type StateColumns, subjectStateOf } from "../internal/codec.js"
import { loadKeys, readable } from "../internal/datakeys.js"
import { run } from "../internal/prepared.js"
import type { Tables } from "../schema.js"
import type { StoreContext } from "./context.js"
import type { Statements } from "./statements.js"

/** A subject row joined with one of its purposes (null columns when it has none). */
interface JoinedStateRow {
  readonly s_seq: number | null
  readonly s_head: string | null
  readonly s_jurisdiction: string | null
  readonly s_age: number | null
  readonly purpose: string | null
  readonly [column: string]: unknown
}

/** A subject's current state in one read, or null when it has none. */
export const readState = async (
  conn: Kysely<Tables>,
  sqlOf: Statements,
  tenant: string,
  subject: string,
): Promise<State.SubjectState | null> => {
  const rows = (await run<JoinedStateRow>(conn, sqlOf.state, { tenant, subject })).rows
  const first = rows[0]
  if (!first || first.s_seq === null) return null
  // The joined rows carry the state columns under their own names: read as they are, not copied.
  const purposes: Array<StateColumns> = []
  for (const r of rows) if (r.purpose !== null) purposes.push(r as unknown as StateColumns)
  return subjectStateOf(
    {
      tenant,
      subject,
      seq: first.s_seq,
      head: first.s_head,
      jurisdiction: first.s_jurisdiction,
      age: first.s_age,
    },
    purposes,
  )
}

/** A subject's ledger in chain order, optionally of one purpose. */
export const readEvents = async (conn: Kysely<Tables>, tenant: string, subject: string, purpose?: string) => {
  let q = conn.selectFrom("event").selectAll().where("tenant", "=", tenant).where("subject", "=", subject)
  // A purpose's own events and those on one of its channels (`purpose#channel`).
  if (purpose !== undefined)
    q = q.where((eb) => eb.or([eb("purpose", "=", purpose), eb("purpose", "like", `${purpose}#%`)]))
  const rows = await q.orderBy("row_id").execute()
  const keys = await loadKeys(conn, tenant, subject)
  const events = rows.map((r) => eventOf(readable(keys, r)))
  // LIKE reads `_` as a wildcard: keep only the purpose asked for.
  return purpose === undefined ? events : events.filter((e) => e.purpose === purpose)
}

const byDayPurposeVersionAction = (a: ConsentStore.RateRow, b: ConsentStore.RateRow): number =>
  a.day !== b.day
    ? a.day < b.day
      ? -1
      : 1
    : a.purpose !== b.purpose
      ? a.purpose < b.purpose
        ? -1
        : 1
      : a.noticeVersion - b.noticeVersion || (a.action < b.action ? -1 : a.action > b.action ? 1 : 0)

/** The port's reads of the ledger, state, aliases, receipts and erasure requests. */
export const ledgerReads = (
  { query, dialect }: StoreContext,
  sqlOf: Statements,
): Pick<
  ConsentStore.ConsentStoreShape,
  "state" | "history" | "stateAt" | "resolveAlias" | "receipts" | "rates" | "erasure" | "erasedHistory"
> => ({
  state: (tenant, subject) => query("read the state", (conn) => readState(conn, sqlOf, tenant, subject)),

  history: (tenant, subject, options) =>
    query("read the ledger", (conn) => readEvents(conn, tenant, subject, options?.purpose)),

  stateAt: (tenant, subject, at) =>
    query("read the state at an instant", async (conn) => {
      // The ledger up to the instant, folded by core's own rule (State.at): a guardian's grant
      // carries through later grants, which only a fold in event order gets right.
      const rows = await conn
        .selectFrom("event")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("subject", "=", subject)
        .where("occurred_at", "<=", at.getTime())
        .orderBy("row_id")
        .execute()
      if (rows.length === 0) return null
      const keys = await loadKeys(conn, tenant, subject)
      const state = State.fold(
        tenant,
        subject,
        rows.map((r) => eventOf(readable(keys, r))),
      )
      return state.seq === 0 ? null : state
    }),

  resolveAlias: (tenant, alias) =>
    query("resolve an alias", async (conn) => {
      const row = await conn
        .selectFrom("alias")
        .select("subject")
        .where("tenant", "=", tenant)
        .where("kind", "=", alias.kind)
        .where("value", "=", alias.value)
        .executeTakeFirst()
      return row?.subject ?? null
    }),

  receipts: (tenant, subject) =>
    query("read receipts", async (conn) =>
      (
        await conn
          .selectFrom("command")
          .selectAll()
          .where("tenant", "=", tenant)
          .where("subject", "=", subject)
          .orderBy("id")
          .execute()
      ).map(commandOf),
    ),

  rates: ({ tenant, from, to }) =>
    query("count consent rates", async (conn) => {
      const day = dialect.dayOf("occurred_at")
      const rows = await conn
        .selectFrom("event")
        .select(["purpose", "notice_version", "action", day.as("day"), (eb) => eb.fn.countAll().as("count")])
        .where("tenant", "=", tenant)
        .where("occurred_at", ">=", from.getTime())
        .where("occurred_at", "<", to.getTime())
        .groupBy(["purpose", "notice_version", "action", day])
        .execute()
      // Events on one channel of a purpose count for the purpose.
      const merged = new Map<string, ConsentStore.RateRow>()
      for (const r of rows) {
        const row: ConsentStore.RateRow = {
          purpose: State.parseKey(r.purpose).purpose,
          noticeVersion: num(r.notice_version),
          day: new Date(num(r.day) * 86_400_000).toISOString().slice(0, 10),
          action: r.action as Ledger.Action,
          count: num(r.count as number),
        }
        const key = `${row.day}\u0000${row.purpose}\u0000${row.noticeVersion}\u0000${row.action}`
        const seen = merged.get(key)
        merged.set(key, seen ? { ...seen, count: seen.count + row.count } : row)
      }
      return [...merged.values()].sort(byDayPurposeVersionAction)
    }),

  erasure: (tenant, id) =>
    query("read an erasure request", async (conn) => {
      const row = await conn
        .selectFrom("erasure")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .executeTakeFirst()
      return row ? erasureOf(row) : null
    }),

  erasedHistory: (tenant, pseudonym) =>
    query("read an erased ledger", (conn) => readEvents(conn, tenant, pseudonym)),
})
