import { type Kysely, sql } from "kysely"
import { typesOf } from "./0001-initial.js"
import type { MigrationContext } from "./types.js"

/**
 * The change feed: one row per committed write or erasure of a subject, positioned in one
 * store-wide sequence that every kit follows (an indexed poll, or NOTIFY on PostgreSQL). Rows
 * are pruned after a retention window, so an erased subject's id does not stay here.
 */
export const changeFeed = {
  up: async (db: Kysely<unknown>, { prefix, dialect }: MigrationContext): Promise<void> => {
    const t = typesOf(dialect)
    const base = db.schema.createTable("change")
    const table =
      dialect === "postgres"
        ? base.addColumn("position", "bigserial", (c) => c.primaryKey())
        : dialect === "mysql"
          ? base
              .addColumn("position", "bigint", (c) => c.primaryKey().autoIncrement())
              .modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
          : // AUTOINCREMENT: a position is never reused, even after pruning every row.
            base.addColumn("position", "integer", (c) => c.primaryKey().autoIncrement())
    await table
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("subject", t.key(256), (c) => c.notNull())
      .addColumn("seq", t.int, (c) => c.notNull())
      .addColumn("kind", t.text(8), (c) => c.notNull())
      .addColumn("recorded_at", t.int8, (c) => c.notNull())
      .execute()
    await db.schema.createIndex(`${prefix}change_recorded`).on("change").columns(["recorded_at"]).execute()
  },

  down: async (db: Kysely<unknown>): Promise<void> => {
    await db.schema.dropTable("change").ifExists().execute()
  },
}
