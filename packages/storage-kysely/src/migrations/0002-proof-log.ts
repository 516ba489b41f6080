import { ProofLog } from "@consentkit/core"
import { type Kysely, sql } from "kysely"
import { eventOf, num } from "../internal/codec.js"
import type { Tables } from "../schema.js"
import { typesOf } from "./0001-initial.js"
import type { MigrationContext } from "./types.js"
import { writeAppend } from "./log-write.js"

const PAGE = 1000

/**
 * Brings every tenant's existing ledger into its Merkle log: events in the order they were
 * written (row id), then one erasure entry per erasure already done. Sign one checkpoint of
 * each tenant afterwards (`consentkit checkpoint`).
 */
const backfill = async (db: Kysely<Tables>): Promise<void> => {
  const tenants = await db.selectFrom("event").select("tenant").distinct().orderBy("tenant").execute()
  for (const { tenant } of tenants) {
    let range = { size: 0, hashes: [] as ReadonlyArray<Uint8Array> }
    let after = 0
    for (;;) {
      const rows = await db
        .selectFrom("event")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("row_id", ">", after)
        .orderBy("row_id")
        .limit(PAGE)
        .execute()
      if (rows.length === 0) break
      after = num(rows[rows.length - 1]!.row_id)
      const append = ProofLog.buildAppend(
        range,
        rows.map((r) => ({ kind: "event", event: { ...eventOf(r), erased: false } })),
      )
      await writeAppend(db, tenant, append, range.size === 0)
      range = append.range
    }
    const erasures = await db
      .selectFrom("erasure")
      .selectAll()
      .where("tenant", "=", tenant)
      .orderBy("requested_at")
      .execute()
    for (const erasure of erasures) {
      const ids = await db
        .selectFrom("event")
        .select("id")
        .where("tenant", "=", tenant)
        .where("subject", "=", erasure.pseudonym)
        .orderBy("row_id")
        .execute()
      const append = ProofLog.buildAppend(range, [
        {
          kind: "erasure",
          erasure: {
            id: erasure.id,
            tenant,
            pseudonym: erasure.pseudonym,
            erasedAt: new Date(num(erasure.requested_at)),
            eventIds: ids.map((r) => r.id),
          },
        },
      ])
      await writeAppend(db, tenant, append, range.size === 0)
      range = append.range
    }
  }
}

/** The per-tenant Merkle log (RFC 9162) over every ledger event, and the backfill of existing ledgers. */
export const proofLog = {
  up: async (db: Kysely<unknown>, { prefix, dialect }: MigrationContext): Promise<void> => {
    const t = typesOf(dialect)
    const name = (suffix: string) => `${prefix}${suffix}`
    const table = (tableName: string) => {
      const builder = db.schema.createTable(tableName)
      return dialect === "mysql"
        ? builder.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
        : builder
    }
    await table("log_head")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("size", t.int8, (c) => c.notNull())
      .addColumn("range", t.json, (c) => c.notNull())
      .addPrimaryKeyConstraint(name("log_head_pk"), ["tenant"])
      .execute()
    await table("log_entry")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("idx", t.int8, (c) => c.notNull())
      .addColumn("kind", t.text(16), (c) => c.notNull())
      .addColumn("ref", t.key(64), (c) => c.notNull())
      .addColumn("entry", t.json, (c) => c.notNull())
      .addColumn("leaf_hash", t.text(64), (c) => c.notNull())
      .addPrimaryKeyConstraint(name("log_entry_pk"), ["tenant", "idx"])
      .execute()
    // Receipts and proofs look an event's leaf up by its id.
    await db.schema.createIndex(name("log_entry_ref")).on("log_entry").columns(["tenant", "ref"]).execute()
    await table("log_node")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("level", t.int, (c) => c.notNull())
      .addColumn("idx", t.int8, (c) => c.notNull())
      .addColumn("hash", t.text(64), (c) => c.notNull())
      .addPrimaryKeyConstraint(name("log_node_pk"), ["tenant", "level", "idx"])
      .execute()
    await backfill(db as unknown as Kysely<Tables>)
  },

  down: async (db: Kysely<unknown>): Promise<void> => {
    for (const table of ["log_node", "log_entry", "log_head"])
      await db.schema.dropTable(table).ifExists().execute()
  },
}
