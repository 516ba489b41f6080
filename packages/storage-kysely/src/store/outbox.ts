import { type ConsentStore, Intent } from "@consentkit/core"
import type { Kysely } from "kysely"
import { dateOrNull, deliveryOf, intentJson, intentOf, num, parseOutboxId } from "../internal/codec.js"
import type { Tables } from "../schema.js"
import type { StoreContext } from "./context.js"
import type { Claimable } from "./dialect.js"

/** Rewrites outbox rows' intents to the pseudonym, as core scrubs them (subject, aliases, state snapshot). */
export const scrubOutbox = async (
  conn: Kysely<Tables>,
  rows: ReadonlyArray<{ id: number | string | bigint; intent: string }>,
  pseudonym: string,
) => {
  for (const row of rows) {
    await conn
      .updateTable("outbox")
      .set({ subject: pseudonym, intent: intentJson(Intent.scrub(intentOf(row.intent), pseudonym)) })
      .where("id", "=", num(row.id))
      .execute()
  }
}

/** The rows a claim may take: due, unleased, and each the lowest pending row of its lane. */
const claimable =
  (conn: Kysely<Tables>, adapters: ReadonlyArray<string>, now: number, limit: number): Claimable =>
  () =>
    conn
      .selectFrom("outbox as o")
      .select("o.id")
      .where("o.status", "=", "pending")
      .where("o.adapter", "in", adapters)
      .where("o.available_at", "<=", now)
      .where("o.lease_until", "<=", now)
      // Per-subject order: only the lowest pending row of a (tenant, subject, adapter) lane.
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("outbox as e")
              .select("e.id")
              .whereRef("e.tenant", "=", "o.tenant")
              .whereRef("e.subject", "=", "o.subject")
              .whereRef("e.adapter", "=", "o.adapter")
              .where("e.status", "=", "pending")
              .whereRef("e.id", "<", "o.id"),
          ),
        ),
      )
      .orderBy("o.id")
      .limit(limit)

type OutboxOperations =
  | "claim"
  | "complete"
  | "fail"
  | "deadLetters"
  | "replay"
  | "deliveriesOf"
  | "outboxStats"

/** The port's outbox: claiming with leases, completing, failing, dead letters and their replay. */
export const outbox = ({
  query,
  inTransaction,
  dialect,
  notify,
}: StoreContext): Pick<ConsentStore.ConsentStoreShape, OutboxOperations> => ({
  claim: (options) =>
    query("claim outbox rows", async (conn) => {
      if (options.adapters.length === 0 || options.limit <= 0) return []
      const now = options.now.getTime()
      const lease = { lease_owner: options.owner, lease_until: now + options.leaseMs }
      const rows = await dialect.claim(
        conn,
        claimable(conn, options.adapters, now, options.limit),
        lease,
        now,
      )
      return rows.map(deliveryOf).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    }),

  complete: (id, owner, now) =>
    inTransaction("complete a delivery", async (conn) => {
      const key = parseOutboxId(id)
      if (key === null) return
      const updated = await conn
        .updateTable("outbox")
        .set({ status: "delivered", delivered_at: now.getTime(), lease_owner: null })
        .where("id", "=", key)
        .where("lease_owner", "=", owner)
        .where("status", "=", "pending")
        .executeTakeFirst()
      if (Number(updated.numUpdatedRows) === 0) return
      const row = await conn
        .selectFrom("outbox")
        .select(["kind", "intent", "adapter", "tenant", "subject"])
        .where("id", "=", key)
        .executeTakeFirst()
      if (row?.kind !== "subject.erase") return
      const intent = intentOf(row.intent)
      if (!intent.pseudonym) return
      // The adapter erased the subject: its rows for that adapter need not name the subject any more.
      const rows = await conn
        .selectFrom("outbox")
        .select(["id", "intent"])
        .where("tenant", "=", row.tenant)
        .where("subject", "=", row.subject)
        .where("adapter", "=", row.adapter)
        .where("id", "<=", key)
        .execute()
      await scrubOutbox(conn, rows, intent.pseudonym)
    }),

  fail: (id, owner, { error, retryAt }) =>
    query("record a failed delivery", async (conn) => {
      const key = parseOutboxId(id)
      if (key === null) return
      await conn
        .updateTable("outbox")
        .set(
          retryAt === null
            ? { last_error: error, lease_owner: null, lease_until: 0, status: "dead" }
            : { last_error: error, lease_owner: null, lease_until: 0, available_at: retryAt.getTime() },
        )
        .where("id", "=", key)
        .where("lease_owner", "=", owner)
        .where("status", "=", "pending")
        .execute()
    }),

  deadLetters: ({ tenant, adapter, limit }) =>
    query("list dead letters", async (conn) => {
      let q = conn.selectFrom("outbox").selectAll().where("status", "=", "dead")
      if (tenant) q = q.where("tenant", "=", tenant)
      if (adapter) q = q.where("adapter", "=", adapter)
      return (await q.orderBy("id").limit(limit).execute()).map(deliveryOf)
    }),

  replay: (ids, now) =>
    query("replay dead letters", async (conn) => {
      const keys = ids.map(parseOutboxId).filter((k): k is number => k !== null)
      if (keys.length === 0) return 0
      const result = await conn
        .updateTable("outbox")
        .set({ status: "pending", attempts: 0, available_at: now.getTime(), lease_until: 0 })
        .where("id", "in", keys)
        .where("status", "=", "dead")
        .executeTakeFirst()
      if (notify) await notify(conn)
      return Number(result.numUpdatedRows)
    }),

  deliveriesOf: (intentId) =>
    query("read deliveries", async (conn) =>
      (
        await conn.selectFrom("outbox").selectAll().where("intent_id", "=", intentId).orderBy("id").execute()
      ).map(deliveryOf),
    ),

  outboxStats: (tenant) =>
    query("read outbox stats", async (conn) => {
      let q = conn
        .selectFrom("outbox")
        .select([
          "adapter",
          "status",
          (eb) => eb.fn.countAll().as("count"),
          (eb) => eb.fn.min("created_at").as("oldest"),
        ])
        .groupBy(["adapter", "status"])
      if (tenant) q = q.where("tenant", "=", tenant)
      const rows = await q.orderBy("adapter").execute()
      const byAdapter = new Map<
        string,
        { adapter: string; pending: number; delivered: number; dead: number }
      >()
      const totals = { pending: 0, delivered: 0, dead: 0 }
      let oldest: number | null = null
      for (const r of rows) {
        const status = r.status as ConsentStore.DeliveryStatus
        const count = num(r.count as number)
        const entry = byAdapter.get(r.adapter) ?? { adapter: r.adapter, pending: 0, delivered: 0, dead: 0 }
        entry[status] += count
        totals[status] += count
        byAdapter.set(r.adapter, entry)
        if (status === "pending" && r.oldest !== null) {
          const t = num(r.oldest as number)
          if (oldest === null || t < oldest) oldest = t
        }
      }
      return { ...totals, oldestPendingAt: dateOrNull(oldest), byAdapter: [...byAdapter.values()] }
    }),
})
