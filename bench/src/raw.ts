import { randomUUID } from "node:crypto"
import Database from "better-sqlite3"
import pg from "pg"
import type { BenchDatabase } from "./stores.js"

const HASH = "0".repeat(64)

/** The values `record` of one grant writes, as the hand-written and raw baselines write them. */
const rows = (tenant: string, i: number) => {
  const now = Date.now()
  const subject = `s${i}`
  const eventId = randomUUID()
  const commandId = randomUUID()
  const intents = (["tracking.resume", "consent.changed"] as const).map((kind) => {
    const intentId = randomUUID()
    return {
      intentId,
      kind,
      intent: JSON.stringify({ id: intentId, tenant, subject, kind, createdAt: new Date(now).toISOString() }),
    }
  })
  return { now, subject, eventId, commandId, intents, key: `k${i}` }
}

/**
 * The physical-limit line on SQLite: the same writes as one `record` of a grant, through
 * better-sqlite3 statements prepared once, in one `BEGIN IMMEDIATE` transaction on a connection
 * of its own to the same file (same pragmas as the store's).
 */
export const rawSqlite = (database: BenchDatabase) => {
  const file = database.url.replace(/^sqlite:/, "")
  const raw = new Database(file)
  raw.pragma("journal_mode = WAL")
  raw.pragma("secure_delete = ON")
  raw.pragma("busy_timeout = 5000")
  raw.pragma("synchronous = NORMAL")
  const t = (name: string) => `"${database.prefix}${name}"`
  const event = raw.prepare(
    `insert into ${t("event")} (id, tenant, subject, seq, purpose, action, notice_version, occurred_at, recorded_at, source, actor_kind, actor_id, evidence, jurisdiction, subject_age, expires_at, command_id, salt, personal_digest, prev_hash, hash, erased)
     values (?, ?, ?, 1, 'analytics', 'grant', 1, ?, ?, 'banner', 'subject', null, '{}', 'TH', null, null, ?, ?, ?, null, ?, 0)`,
  )
  const subject = raw.prepare(
    `insert into ${t("subject")} (tenant, subject, seq, head, jurisdiction, age, created_at) values (?, ?, 1, ?, 'TH', null, ?)
     on conflict (tenant, subject) do update set seq = 1, head = excluded.head`,
  )
  const state = raw.prepare(
    `insert into ${t("state")} (tenant, subject, purpose, status, notice_version, occurred_at, expires_at, event_id, seq, source, actor, guardian_granted)
     values (?, ?, 'analytics', 'granted', 1, ?, null, ?, 1, 'banner', 'subject', 0)
     on conflict (tenant, subject, purpose) do update set status = excluded.status, occurred_at = excluded.occurred_at, event_id = excluded.event_id, seq = excluded.seq`,
  )
  const outbox = raw.prepare(
    `insert into ${t("outbox")} (tenant, subject, adapter, intent_id, kind, intent, status, attempts, available_at, lease_owner, lease_until, last_error, created_at, delivered_at)
     values (?, ?, 'sink', ?, ?, ?, 'pending', 0, ?, null, 0, null, ?, null)`,
  )
  const command = raw.prepare(
    `insert into ${t("command")} (tenant, key, subject, command_id, recorded_at, event_ids, receipt) values (?, ?, ?, ?, ?, ?, null)`,
  )
  const write = raw.transaction((tenant: string, i: number) => {
    const r = rows(tenant, i)
    event.run(r.eventId, tenant, r.subject, r.now, r.now, r.commandId, HASH.slice(0, 32), HASH, HASH)
    subject.run(tenant, r.subject, HASH, r.now)
    state.run(tenant, r.subject, r.now, r.eventId)
    for (const o of r.intents) outbox.run(tenant, r.subject, o.intentId, o.kind, o.intent, r.now, r.now)
    command.run(tenant, r.key, r.subject, r.commandId, r.now, JSON.stringify([r.eventId]))
  })
  return {
    record: async (tenant: string, i: number) => {
      write.immediate(tenant, i)
    },
    close: async () => {
      raw.close()
    },
  }
}

/**
 * The physical-limit line on PostgreSQL: the same writes as one `record` of a grant in a single
 * `pg` query (a data-modifying CTE, prepared by name), so one round trip and one commit.
 */
export const rawPostgres = (database: BenchDatabase, connections = 8) => {
  const client = new pg.Pool({ connectionString: database.url, max: connections })
  const t = (name: string) => `"${database.prefix}${name}"`
  const text = `with
    e as (insert into ${t("event")} (id, tenant, subject, seq, purpose, action, notice_version, occurred_at, recorded_at, source, actor_kind, actor_id, evidence, jurisdiction, subject_age, expires_at, command_id, salt, personal_digest, prev_hash, hash, erased)
      values ($1, $2, $3, 1, 'analytics', 'grant', 1, $4, $4, 'banner', 'subject', null, '{}', 'TH', null, null, $5, $6, $7, null, $7, 0)),
    s as (insert into ${t("subject")} (tenant, subject, seq, head, jurisdiction, age, created_at) values ($2, $3, 1, $7, 'TH', null, $4)
      on conflict (tenant, subject) do update set seq = 1, head = excluded.head),
    st as (insert into ${t("state")} (tenant, subject, purpose, status, notice_version, occurred_at, expires_at, event_id, seq, source, actor, guardian_granted)
      values ($2, $3, 'analytics', 'granted', 1, $4, null, $1, 1, 'banner', 'subject', 0)
      on conflict (tenant, subject, purpose) do update set status = excluded.status, occurred_at = excluded.occurred_at, event_id = excluded.event_id, seq = excluded.seq),
    o as (insert into ${t("outbox")} (tenant, subject, adapter, intent_id, kind, intent, status, attempts, available_at, lease_owner, lease_until, last_error, created_at, delivered_at)
      values ($2, $3, 'sink', $8, 'tracking.resume', $9, 'pending', 0, $4, null, 0, null, $4, null),
             ($2, $3, 'sink', $10, 'consent.changed', $11, 'pending', 0, $4, null, 0, null, $4, null))
    insert into ${t("command")} (tenant, key, subject, command_id, recorded_at, event_ids, receipt) values ($2, $12, $3, $5, $4, $13, null)`
  const name = `raw_record_${database.prefix}`
  return {
    record: async (tenant: string, i: number) => {
      const r = rows(tenant, i)
      await client.query({
        name,
        text,
        values: [
          r.eventId,
          tenant,
          r.subject,
          r.now,
          r.commandId,
          HASH.slice(0, 32),
          HASH,
          r.intents[0]!.intentId,
          r.intents[0]!.intent,
          r.intents[1]!.intentId,
          r.intents[1]!.intent,
          r.key,
          JSON.stringify([r.eventId]),
        ],
      })
    },
    close: () => client.end(),
  }
}

/**
 * Counts the statements every `pg` client sends (pools' clients included), at the driver: each
 * `Client#query` call is one round trip to the server.
 */
export const countPgStatements = async <A>(
  work: () => Promise<A>,
): Promise<{ value: A; statements: number }> => {
  const proto = pg.Client.prototype as unknown as { query: (...args: Array<unknown>) => unknown }
  const original = proto.query
  let statements = 0
  proto.query = function (this: unknown, ...args: Array<unknown>) {
    statements++
    return original.apply(this, args)
  }
  try {
    const value = await work()
    return { value, statements }
  } finally {
    proto.query = original
  }
}
