import type { ConsentStore, MerkleLog } from "@consentkit/core"
import type { Kysely, Selectable } from "kysely"
import { eventOf, num } from "../internal/codec.js"
import { loadKeys, readable } from "../internal/datakeys.js"
import { writeAppend } from "../migrations/log-write.js"
import type { LogEntryTable, Tables } from "../schema.js"
import type { StoreContext } from "./context.js"

const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, "hex"))

const rangeOf = (
  row: { size: number | string | bigint; range: string } | undefined,
): MerkleLog.CompactRange =>
  row
    ? { size: num(row.size), hashes: (JSON.parse(row.range) as Array<string>).map(bytes) }
    : { size: 0, hashes: [] }

// SQLite batches run several subjects' transactions on one connection: their log appends take turns here.
const turns = new WeakMap<object, Map<string, Promise<unknown>>>()
const inTurn = <A>(owner: object, tenant: string, work: () => Promise<A>): Promise<A> => {
  let queue = turns.get(owner)
  if (!queue) {
    queue = new Map()
    turns.set(owner, queue)
  }
  const previous = queue.get(tenant) ?? Promise.resolve()
  const next = previous.then(work, work)
  queue.set(
    tenant,
    next.catch(() => undefined),
  )
  return next
}

/** The log part of a subject transaction: appends under the tenant's log-head lock. */
export const logOperations = (
  { attempt, dialect, db }: StoreContext,
  conn: Kysely<Tables>,
  tenant: string,
  written: () => void,
): ConsentStore.LogTransaction => ({
  appendLog: (build) =>
    attempt("append to the proof log", () =>
      inTurn(db, tenant, async () => {
        written()
        if (dialect.locksSubjectRow) {
          // The head row is the tenant's sequencer: appends of one tenant commit one after another.
          const missing = conn.insertInto("log_head").values({ tenant, size: 0, range: "[]" })
          await dialect.insertIfMissing(missing, { tenant }).execute()
        }
        let query = conn.selectFrom("log_head").select(["size", "range"]).where("tenant", "=", tenant)
        if (dialect.locksSubjectRow) query = query.forUpdate()
        const row = await query.executeTakeFirst()
        const append = build(rangeOf(row))
        if (append.entries.length === 0) return
        await writeAppend(conn, tenant, append, row === undefined)
      }),
    ),
})

const entryOf = (r: Selectable<LogEntryTable>): ConsentStore.LogEntry => ({
  index: num(r.idx),
  kind: r.kind === "erasure" ? "erasure" : "event",
  ref: r.ref,
  entry: r.entry,
  leafHash: r.leaf_hash,
})

/** The port's reads of the proof log. */
export const logReads = ({ query }: StoreContext): ConsentStore.LogReads => ({
  logRange: (tenant) =>
    query("read the proof log head", async (conn) =>
      rangeOf(
        await conn
          .selectFrom("log_head")
          .select(["size", "range"])
          .where("tenant", "=", tenant)
          .executeTakeFirst(),
      ),
    ),

  logEntries: (tenant, from, to) =>
    query("read proof log entries", async (conn) =>
      (
        await conn
          .selectFrom("log_entry")
          .selectAll()
          .where("tenant", "=", tenant)
          .where("idx", ">=", from)
          .where("idx", "<", to)
          .orderBy("idx")
          .execute()
      ).map(entryOf),
    ),

  logEntriesOf: (tenant, refs) =>
    query("find proof log entries", async (conn) =>
      refs.length === 0
        ? []
        : (
            await conn
              .selectFrom("log_entry")
              .selectAll()
              .where("tenant", "=", tenant)
              .where("ref", "in", [...refs])
              .orderBy("idx")
              .execute()
          ).map(entryOf),
    ),

  logNodes: (tenant, ids) =>
    query("read proof log nodes", async (conn) => {
      const found = new Map<string, Uint8Array>()
      const leaves = ids.filter((id) => id.level === 0).map((id) => id.index)
      const inner = ids.filter((id) => id.level > 0)
      if (leaves.length > 0) {
        const rows = await conn
          .selectFrom("log_entry")
          .select(["idx", "leaf_hash"])
          .where("tenant", "=", tenant)
          .where("idx", "in", leaves)
          .execute()
        for (const r of rows) found.set(`0/${num(r.idx)}`, bytes(r.leaf_hash))
      }
      if (inner.length > 0) {
        const rows = await conn
          .selectFrom("log_node")
          .select(["level", "idx", "hash"])
          .where("tenant", "=", tenant)
          .where((eb) =>
            eb.or(inner.map((id) => eb.and([eb("level", "=", id.level), eb("idx", "=", id.index)]))),
          )
          .execute()
        for (const r of rows) found.set(`${num(r.level)}/${num(r.idx)}`, bytes(r.hash))
      }
      return found
    }),

  tenantEvents: (tenant) =>
    query("read the tenant's ledger", async (conn) => {
      const rows = await conn
        .selectFrom("event")
        .selectAll()
        .where("tenant", "=", tenant)
        .orderBy("row_id")
        .execute()
      const keys = await loadKeys(conn, tenant)
      return rows.map((r) => eventOf(readable(keys, r)))
    }),
})
