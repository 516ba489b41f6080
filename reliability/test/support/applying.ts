import { Adapter, Intent } from "@consentkit/core"
import { type Kysely, sql } from "kysely"

/** The adapters of the crash test: both receive every intent kind. */
export const ADAPTER_NAMES = ["tracker", "messenger"] as const

/** Creates the tables where the adapters write what they applied (unique per intent and adapter) and every attempt. */
export const createApplyTables = async (db: Kysely<any>, prefix: string): Promise<void> => {
  await sql`create table if not exists ${sql.table(`${prefix}applied`)} (intent_id varchar(64) not null, adapter varchar(64) not null, primary key (intent_id, adapter))`.execute(
    db,
  )
  await sql`create table if not exists ${sql.table(`${prefix}attempt`)} (intent_id varchar(64) not null, adapter varchar(64) not null)`.execute(
    db,
  )
}

/**
 * Adapters that apply an intent by inserting (intent id, adapter) once, `ON CONFLICT DO NOTHING`:
 * the idempotency a real provider gives by intent id. Every attempt is counted separately, so a
 * delivery repeated after a crash shows as a second attempt and still one application.
 */
export const applyingAdapters = (
  db: Kysely<any>,
  prefix: string,
  options: { readonly delayMs?: () => number } = {},
): Array<Adapter.Adapter> =>
  ADAPTER_NAMES.map((name) => {
    const apply = async (intent: Intent.Intent) => {
      await sql`insert into ${sql.table(`${prefix}attempt`)} (intent_id, adapter) values (${intent.id}, ${name})`.execute(
        db,
      )
      const delay = options.delayMs?.() ?? 0
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
      await sql`insert into ${sql.table(`${prefix}applied`)} (intent_id, adapter) values (${intent.id}, ${name}) on conflict do nothing`.execute(
        db,
      )
    }
    return Adapter.fromHandlers({
      name,
      role: name === "tracker" ? "tracker" : "messenger",
      handlers: Object.fromEntries(Intent.KINDS.map((kind) => [kind, apply])),
    })
  })

/** Adapters that accept every intent and do nothing: enough for records to enqueue deliveries. */
export const silentAdapters = (): Array<Adapter.Adapter> =>
  ADAPTER_NAMES.map((name) =>
    Adapter.fromHandlers({
      name,
      role: name === "tracker" ? "tracker" : "messenger",
      handlers: Object.fromEntries(Intent.KINDS.map((kind) => [kind, async () => undefined])),
    }),
  )
