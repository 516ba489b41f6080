import { type Kysely, sql } from "kysely"
import { typesOf } from "./0001-initial.js"
import type { MigrationContext } from "./types.js"

const REFUSED = "consentkit: the ledger and its proof log are append-only"

/** Tables whose rows no one may change or delete; the ledger only under an erasure permit; the log head never deleted. */
const guards = (prefix: string) => [
  { table: `${prefix}log_entry`, ops: ["update", "delete"], permit: false },
  { table: `${prefix}log_node`, ops: ["update", "delete"], permit: false },
  { table: `${prefix}log_head`, ops: ["delete"], permit: false },
  { table: `${prefix}event`, ops: ["update", "delete"], permit: true },
]

/**
 * Triggers that refuse UPDATE and DELETE on the ledger and the proof log outside the erasure
 * path, on SQLite, PostgreSQL and MySQL. The erasure path holds a permit row for its subject
 * inside its transaction. They stop mistakes and casual edits; a writer who can drop triggers
 * is caught by `verify --checkpoint` instead.
 */
export const guardTriggers = {
  up: async (db: Kysely<unknown>, { prefix, dialect }: MigrationContext): Promise<void> => {
    const t = typesOf(dialect)
    let permitTable = db.schema
      .createTable("erasure_permit")
      .addColumn("tenant", t.key(64), (c) => c.notNull())
      .addColumn("subject", t.key(256), (c) => c.notNull())
      .addPrimaryKeyConstraint(`${prefix}erasure_permit_pk`, ["tenant", "subject"])
    if (dialect === "mysql")
      permitTable = permitTable.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
    await permitTable.execute()
    const permits = `${prefix}erasure_permit`
    const permitted = `exists (select 1 from ${permits} p where p.tenant = OLD.tenant and p.subject = OLD.subject)`
    if (dialect === "postgres") {
      await sql
        .raw(`create or replace function ${prefix}refuse_change() returns trigger language plpgsql as $$
begin
  -- Nested: plpgsql does not short-circuit, and only the ledger has a subject column.
  if TG_ARGV[0] = 'permit' then
    if ${permitted} then
      if TG_OP = 'DELETE' then return OLD; end if;
      return NEW;
    end if;
  end if;
  raise exception '${REFUSED} (% on %)', TG_OP, TG_TABLE_NAME using errcode = '42501';
end $$`)
        .execute(db)
    }
    for (const guard of guards(prefix)) {
      for (const op of guard.ops) {
        const name = `${guard.table}_no_${op}`
        if (dialect === "sqlite") {
          const when = guard.permit ? ` when not ${permitted}` : ""
          await sql
            .raw(
              `create trigger ${name} before ${op} on ${guard.table}${when} begin select raise(abort, '${REFUSED}'); end`,
            )
            .execute(db)
        } else if (dialect === "postgres") {
          await sql
            .raw(
              `create trigger ${name} before ${op} on ${guard.table} for each row execute function ${prefix}refuse_change('${guard.permit ? "permit" : "never"}')`,
            )
            .execute(db)
        } else {
          const refuse = `signal sqlstate '45000' set message_text = '${REFUSED}'`
          const body = guard.permit ? `begin if not ${permitted} then ${refuse}; end if; end` : refuse
          await sql
            .raw(`create trigger ${name} before ${op} on ${guard.table} for each row ${body}`)
            .execute(db)
        }
      }
    }
  },

  down: async (db: Kysely<unknown>, { prefix, dialect }: MigrationContext): Promise<void> => {
    for (const guard of guards(prefix))
      for (const op of guard.ops) {
        const name = `${guard.table}_no_${op}`
        await sql
          .raw(
            dialect === "postgres"
              ? `drop trigger if exists ${name} on ${guard.table}`
              : `drop trigger if exists ${name}`,
          )
          .execute(db)
      }
    if (dialect === "postgres") await sql.raw(`drop function if exists ${prefix}refuse_change()`).execute(db)
    await db.schema.dropTable("erasure_permit").ifExists().execute()
  },
}
