import { type ColumnDataType, type Expression, type Kysely, sql } from "kysely"
import type { MigrationContext } from "./types.js"

type DataType = ColumnDataType | Expression<unknown>

/** Column types per dialect: keys are byte-ordered text (so keyset pages match JavaScript's order). */
export const typesOf = (dialect: MigrationContext["dialect"]) => {
  const key = (length: number): DataType =>
    dialect === "postgres"
      ? sql`text collate "C"`
      : dialect === "mysql"
        ? sql.raw(`varchar(${length})`)
        : "text"
  return {
    key,
    text: (length: number): DataType => (dialect === "mysql" ? sql.raw(`varchar(${length})`) : "text"),
    json: (dialect === "mysql" ? sql.raw("mediumtext") : "text") as DataType,
    int8: (dialect === "sqlite" ? "integer" : "bigint") as DataType,
    int: "integer" as DataType,
  }
}

/** The tables and indexes of the first release. */
export const initial = {
  up: async (db: Kysely<unknown>, { prefix, dialect }: MigrationContext): Promise<void> => {
    const t = typesOf(dialect)
    const name = (suffix: string) => `${prefix}${suffix}`
    // MySQL compares text by collation: binary keeps ids case-sensitive and ordered like JavaScript strings.
    const table = (tableName: string) => {
      const builder = db.schema.createTable(tableName)
      return dialect === "mysql"
        ? builder.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
        : builder
    }
    const serial = (tableName: string, column: string) =>
      dialect === "postgres"
        ? table(tableName).addColumn(column, "bigserial", (c) => c.primaryKey())
        : dialect === "mysql"
          ? table(tableName).addColumn(column, "bigint", (c) => c.primaryKey().autoIncrement())
          : // SQLite: a rowid alias. New rows take max(id) + 1, so ids keep insertion order without
            // AUTOINCREMENT's extra write per insert (outbox rows, which callers hold ids of, are never deleted).
            table(tableName).addColumn(column, "integer", (c) => c.primaryKey())

    await table("subject")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("subject", t.key(256), (c) => c.notNull())
      .addColumn("seq", t.int)
      .addColumn("head", t.text(64))
      .addColumn("jurisdiction", t.text(16))
      .addColumn("age", t.int)
      .addColumn("created_at", t.int8, (c) => c.notNull())
      .addPrimaryKeyConstraint(name("subject_pk"), ["tenant", "subject"])
      .execute()

    await serial("alias", "id")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("kind", t.key(32), (c) => c.notNull())
      .addColumn("value", t.key(256), (c) => c.notNull())
      .addColumn("subject", t.key(256), (c) => c.notNull())
      .execute()
    await db.schema
      .createIndex(name("alias_value"))
      .unique()
      .on("alias")
      .columns(["tenant", "kind", "value"])
      .execute()
    await db.schema
      .createIndex(name("alias_subject"))
      .on("alias")
      .columns(["tenant", "subject", "id"])
      .execute()

    await serial("event", "row_id")
      .addColumn("id", t.key(64), (c) => c.notNull())
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("subject", t.key(256), (c) => c.notNull())
      .addColumn("seq", t.int, (c) => c.notNull())
      .addColumn("purpose", t.key(128), (c) => c.notNull())
      .addColumn("action", t.text(16), (c) => c.notNull())
      .addColumn("notice_version", t.int, (c) => c.notNull())
      .addColumn("occurred_at", t.int8, (c) => c.notNull())
      .addColumn("recorded_at", t.int8, (c) => c.notNull())
      .addColumn("source", t.text(64), (c) => c.notNull())
      .addColumn("actor_kind", t.text(16), (c) => c.notNull())
      .addColumn("actor_id", t.text(256))
      .addColumn("evidence", t.json, (c) => c.notNull())
      .addColumn("jurisdiction", t.text(16), (c) => c.notNull())
      .addColumn("subject_age", t.int)
      .addColumn("expires_at", t.int8)
      .addColumn("command_id", t.text(64), (c) => c.notNull())
      .addColumn("salt", t.text(64), (c) => c.notNull())
      .addColumn("personal_digest", t.text(64), (c) => c.notNull())
      .addColumn("prev_hash", t.text(64))
      .addColumn("hash", t.text(64), (c) => c.notNull())
      .addColumn("erased", t.int, (c) => c.notNull())
      .execute()
    // history, events, stateAt and erasure read one subject's chain in order.
    await db.schema
      .createIndex(name("event_subject"))
      .on("event")
      .columns(["tenant", "subject", "row_id"])
      .execute()
    // rates scan one tenant's events by when they happened.
    await db.schema
      .createIndex(name("event_occurred"))
      .on("event")
      .columns(["tenant", "occurred_at"])
      .execute()

    await table("state")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("subject", t.key(256), (c) => c.notNull())
      .addColumn("purpose", t.key(128), (c) => c.notNull())
      .addColumn("status", t.key(16), (c) => c.notNull())
      .addColumn("notice_version", t.int, (c) => c.notNull())
      .addColumn("occurred_at", t.int8, (c) => c.notNull())
      .addColumn("expires_at", t.int8)
      .addColumn("event_id", t.text(64), (c) => c.notNull())
      .addColumn("seq", t.int, (c) => c.notNull())
      .addColumn("source", t.text(64), (c) => c.notNull())
      .addColumn("actor", t.text(16), (c) => c.notNull())
      .addColumn("guardian_granted", t.int, (c) => c.notNull())
      .addPrimaryKeyConstraint(name("state_pk"), ["tenant", "subject", "purpose"])
      .execute()
    // Audiences walk the granted subjects of one purpose in subject order (keyset pages).
    await db.schema
      .createIndex(name("state_audience"))
      .on("state")
      .columns(["tenant", "purpose", "status", "subject"])
      .execute()

    await serial("outbox", "id")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("subject", t.key(256), (c) => c.notNull())
      .addColumn("adapter", t.key(128), (c) => c.notNull())
      .addColumn("intent_id", t.key(64), (c) => c.notNull())
      .addColumn("kind", t.text(32), (c) => c.notNull())
      .addColumn("intent", t.json, (c) => c.notNull())
      .addColumn("status", t.key(16), (c) => c.notNull())
      .addColumn("attempts", t.int, (c) => c.notNull())
      .addColumn("available_at", t.int8, (c) => c.notNull())
      .addColumn("lease_owner", t.text(255))
      .addColumn("lease_until", t.int8, (c) => c.notNull())
      .addColumn("last_error", t.json)
      .addColumn("created_at", t.int8, (c) => c.notNull())
      .addColumn("delivered_at", t.int8)
      .execute()
    // Claims and dead letters walk rows of one status in id order.
    await db.schema.createIndex(name("outbox_status")).on("outbox").columns(["status", "id"]).execute()
    // Per-subject order: is an earlier row of the same lane still pending? Also erasure scrubs.
    await db.schema
      .createIndex(name("outbox_lane"))
      .on("outbox")
      .columns(["tenant", "subject", "adapter", "status", "id"])
      .execute()
    await db.schema.createIndex(name("outbox_intent")).on("outbox").columns(["intent_id"]).execute()

    await serial("command", "id")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("key", t.key(200), (c) => c.notNull())
      .addColumn("subject", t.key(256), (c) => c.notNull())
      .addColumn("command_id", t.text(64), (c) => c.notNull())
      .addColumn("recorded_at", t.int8, (c) => c.notNull())
      .addColumn("event_ids", t.json, (c) => c.notNull())
      .addColumn("receipt", t.json)
      .execute()
    await db.schema
      .createIndex(name("command_key"))
      .unique()
      .on("command")
      .columns(["tenant", "key"])
      .execute()
    await db.schema
      .createIndex(name("command_subject"))
      .on("command")
      .columns(["tenant", "subject", "id"])
      .execute()

    await table("erasure")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("id", t.key(64), (c) => c.notNull())
      .addColumn("pseudonym", t.key(64), (c) => c.notNull())
      .addColumn("requested_at", t.int8, (c) => c.notNull())
      .addColumn("requested_by", t.text(200))
      .addColumn("intent_id", t.text(64), (c) => c.notNull())
      .addPrimaryKeyConstraint(name("erasure_pk"), ["tenant", "id"])
      .execute()
  },

  down: async (db: Kysely<unknown>): Promise<void> => {
    for (const table of ["erasure", "command", "outbox", "state", "event", "alias", "subject"]) {
      await db.schema.dropTable(table).ifExists().execute()
    }
  },
}
