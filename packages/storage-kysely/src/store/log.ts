import type { ConsentStore, MerkleLog } from "@consentkit/core"
import type { Kysely, Selectable } from "kysely"
import { eventOf, num } from "../internal/codec.js"
import { loadKeys, readable } from "../internal/datakeys.js"
import { rangeJson } from "../migrations/log-write.js"
import { run } from "../internal/prepared.js"
import type { LogEntryTable, Tables } from "../schema.js"
import type { StoreContext } from "./context.js"
import type { Statements } from "./statements.js"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
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

const CHUNK = 200

/** The log part of a subject transaction: appends under the tenant's log-head lock, with prepared statements. */
export const logOperations = (
  { attempt, dialect, db }: StoreContext,
  sqlOf: Statements,
  conn: Kysely<Tables>,
  tenant: string,
  written: () => void,
): ConsentStore.LogTransaction => ({
  appendLog: (build) =>
    attempt("append to the proof log", () =>
      inTurn(db, tenant, async () => {
        written()
        // The head row is the tenant's sequencer: appends of one tenant commit one after another.
        if (dialect.locksSubjectRow) await run(conn, sqlOf.insertLogHeadIfMissing, { tenant })
        const row = (
          await run<{ size: number | string | bigint; range: string }>(conn, sqlOf.logHead, { tenant })
        ).rows[0]
        const append = build(rangeOf(row))
        if (append.entries.length === 0) return
        for (let i = 0; i < append.entries.length; i += CHUNK) {
          const rows = append.entries.slice(i, i + CHUNK).map((e) => ({
            tenant,
            idx: e.index,
            kind: e.kind,
            ref: e.ref,
            entry: e.entry,
            leaf_hash: e.leafHash,
          }))
          await run(conn, sqlOf.insertLogEntries(rows.length), {}, rows)
        }
        for (let i = 0; i < append.nodes.length; i += CHUNK) {
          const rows = append.nodes
            .slice(i, i + CHUNK)
            .map((n) => ({ tenant, level: n.level, idx: n.index, hash: hex(n.hash) }))
          await run(conn, sqlOf.insertLogNodes(rows.length), {}, rows)
        }
        const head = { tenant, size: append.range.size, range: rangeJson(append.range) }
        await run(conn, row === undefined ? sqlOf.insertLogHead : sqlOf.updateLogHead, head)
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
