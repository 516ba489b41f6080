import { type Kysely, sql } from "kysely"
import { typesOf } from "./0001-initial.js"
import type { MigrationContext } from "./types.js"

/** Per-subject data keys (crypto-shredding), and which key an erasure destroyed. Rows written before stay plaintext. */
export const dataKeys = {
  up: async (db: Kysely<unknown>, { prefix, dialect }: MigrationContext): Promise<void> => {
    const t = typesOf(dialect)
    let table = db.schema
      .createTable("data_key")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("subject", t.key(256), (c) => c.notNull())
      .addColumn("key_id", t.text(64), (c) => c.notNull())
      .addColumn("data_key", t.text(64), (c) => c.notNull())
      .addColumn("created_at", t.int8, (c) => c.notNull())
      .addPrimaryKeyConstraint(`${prefix}data_key_pk`, ["tenant", "subject"])
    if (dialect === "mysql")
      table = table.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
    await table.execute()
    // An encrypted actor id is longer than the id itself (key id, IV, tag, base64).
    if (dialect === "mysql")
      await db.schema.alterTable("event").modifyColumn("actor_id", sql.raw("varchar(1024)")).execute()
    await db.schema.alterTable("erasure").addColumn("destroyed_key_id", t.text(64)).execute()
    await db.schema.alterTable("erasure").addColumn("destroyed_key_at", t.int8).execute()
  },

  down: async (db: Kysely<unknown>): Promise<void> => {
    await db.schema.alterTable("erasure").dropColumn("destroyed_key_at").execute()
    await db.schema.alterTable("erasure").dropColumn("destroyed_key_id").execute()
    await db.schema.dropTable("data_key").ifExists().execute()
  },
}
