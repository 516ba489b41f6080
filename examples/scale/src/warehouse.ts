/**
 * The brand's own customer-data tables as an adapter: each intent is applied once, keyed by its
 * id (the dispatcher may deliver twice after a crash), and every attempt is logged, so the
 * example and its test can count deliveries, duplicates and which dispatcher did the work.
 */
import { Adapter, Intent } from "@consentkit/core"
import { type Kysely, sql } from "kysely"

/** Creates the tables the warehouse adapter writes (idempotent). */
export const createWarehouseTables = async (db: Kysely<any>, prefix: string): Promise<void> => {
  await sql`create table if not exists ${sql.table(`${prefix}applied`)} (
    adapter text not null,
    intent_id text not null,
    tenant text not null,
    subject text not null,
    kind text not null,
    dispatcher text not null,
    applied_at bigint not null,
    seq bigserial not null,
    primary key (adapter, intent_id)
  )`.execute(db)
  await sql`create table if not exists ${sql.table(`${prefix}attempts`)} (
    id bigserial primary key,
    adapter text not null,
    intent_id text not null,
    dispatcher text not null
  )`.execute(db)
}

/** An adapter that applies every intent kind to the warehouse tables. */
export const warehouseAdapter = (options: {
  readonly db: Kysely<any>
  readonly prefix: string
  readonly name: string
  /** The dispatcher process doing the work, logged with each attempt. */
  readonly dispatcher: string
  /** The intent kinds it receives (default: all). */
  readonly kinds?: ReadonlyArray<Intent.Kind>
}): Adapter.Adapter => {
  const applied = sql.table(`${options.prefix}applied`)
  const attempts = sql.table(`${options.prefix}attempts`)
  const apply = async (intent: Intent.Intent) => {
    // One statement: log the attempt, apply once (a redelivered intent id changes nothing).
    await sql`with attempt as (
      insert into ${attempts} (adapter, intent_id, dispatcher) values (${options.name}, ${intent.id}, ${options.dispatcher})
    )
    insert into ${applied} (adapter, intent_id, tenant, subject, kind, dispatcher, applied_at)
    values (${options.name}, ${intent.id}, ${intent.tenant}, ${intent.subject}, ${intent.kind}, ${options.dispatcher}, ${Date.now()})
    on conflict (adapter, intent_id) do nothing`.execute(options.db)
  }
  return Adapter.fromHandlers({
    name: options.name,
    role: "cdp",
    handlers: Object.fromEntries((options.kinds ?? Intent.KINDS).map((kind) => [kind, apply])),
  })
}

/**
 * Reads adapter specs like `warehouse,crm:messaging.suppress+subject.erase`: a name, and
 * optionally the kinds it receives.
 */
export const parseAdapters = (
  spec: string,
): Array<{ readonly name: string; readonly kinds?: ReadonlyArray<Intent.Kind> }> =>
  spec
    .split(",")
    .filter((part) => part.length > 0)
    .map((part) => {
      const [name, kinds] = part.split(":")
      if (!kinds) return { name: name! }
      const list = kinds.split("+")
      for (const kind of list) {
        if (!(Intent.KINDS as ReadonlyArray<string>).includes(kind))
          throw new Error(`unknown intent kind "${kind}"`)
      }
      return { name: name!, kinds: list as Array<Intent.Kind> }
    })
