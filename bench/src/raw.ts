import { randomBytes, randomUUID } from "node:crypto"
import type { Tables } from "@consentkit/storage-kysely"
import Database from "better-sqlite3"
import type { Kysely } from "kysely"
import pg from "pg"
import type { BenchDatabase } from "./stores.js"

const HASH = "0".repeat(64)

/** Trailing zero bits: the Merkle nodes above leaf level that appending leaf `index` completes. */
const completedNodes = (index: number) => {
  let n = 0
  for (let x = index + 1; x % 2 === 0; x /= 2) n++
  return n
}

/** Set bits: the hashes in a compact range of `size` leaves. */
const rangeOf = (size: number) => {
  let n = 0
  for (let x = size; x > 0; x = Math.floor(x / 2)) n += x % 2
  return JSON.stringify(Array.from({ length: n }, () => HASH))
}

/**
 * The rows `record` of one grant to a new subject writes (with a sink adapter and the proof log
 * on): an event, the subject row, a state row, two outbox rows, the command, the subject's data
 * key, a proof-log entry, the log nodes it completes and the tenant's log head. Hashes are
 * constants: the baselines do no hashing, validation or diffing, only the writes.
 */
export const recordRows = (tenant: string, i: number, logSize: number) => {
  const now = Date.now()
  const subject = `s${i}`
  const eventId = randomUUID()
  const commandId = randomUUID()
  const iso = new Date(now).toISOString()
  return {
    event: {
      id: eventId,
      tenant,
      subject,
      seq: 1,
      purpose: "analytics",
      action: "grant",
      notice_version: 1,
      occurred_at: now,
      recorded_at: now,
      source: "banner",
      actor_kind: "subject",
      actor_id: null,
      evidence: `ck1:${randomUUID()}:${randomBytes(30).toString("base64")}`,
      jurisdiction: "TH",
      subject_age: null,
      expires_at: now + 34_214_400_000,
      command_id: commandId,
      salt: HASH.slice(0, 32),
      personal_digest: HASH,
      prev_hash: null,
      hash: HASH,
      erased: 0,
    },
    subject: { tenant, subject, seq: 1, head: HASH, jurisdiction: "TH", age: null, created_at: now },
    state: {
      tenant,
      subject,
      purpose: "analytics",
      status: "granted",
      notice_version: 1,
      occurred_at: now,
      expires_at: now + 34_214_400_000,
      event_id: eventId,
      seq: 1,
      source: "banner",
      actor: "subject",
      guardian_granted: 0,
    },
    outbox: (["tracking.resume", "consent.changed"] as const).map((kind) => {
      const intentId = randomUUID()
      return {
        tenant,
        subject,
        adapter: "sink",
        intent_id: intentId,
        kind,
        intent: JSON.stringify({
          purpose: "analytics",
          reason: "granted",
          categories: ["analytics"],
          channels: [],
          changes: [],
          aliases: [],
          erasureId: null,
          pseudonym: null,
          snapshot: null,
          kind,
          id: intentId,
          tenant,
          subject,
          seq: 1,
          createdAt: iso,
        }),
        status: "pending",
        attempts: 0,
        available_at: now,
        lease_owner: null,
        lease_until: 0,
        last_error: null,
        created_at: now,
        delivered_at: null,
      }
    }),
    command: {
      tenant,
      key: `k${i}:${HASH}`,
      subject,
      command_id: commandId,
      recorded_at: now,
      event_ids: JSON.stringify([eventId]),
      receipt: null as string | null,
    },
    dataKey: {
      tenant,
      subject,
      key_id: randomUUID(),
      data_key: randomBytes(32).toString("base64"),
      created_at: now,
    },
    logEntry: {
      tenant,
      idx: logSize,
      kind: "event",
      ref: eventId,
      entry: JSON.stringify({
        action: "grant",
        actorKind: "subject",
        commandId,
        erased: false,
        expiresAt: iso,
        hash: HASH,
        id: eventId,
        jurisdiction: "TH",
        kind: "event",
        noticeVersion: 1,
        occurredAt: iso,
        personalDigest: HASH,
        prevHash: null,
        purpose: "analytics",
        recordedAt: iso,
        seq: 1,
        source: "banner",
        subjectAge: null,
        tenant,
        v: 1,
      }),
      leaf_hash: HASH,
    },
    logNodes: Array.from({ length: completedNodes(logSize) }, (_, k) => ({
      tenant,
      level: k + 1,
      idx: Math.floor(logSize / 2 ** (k + 1)),
      hash: HASH,
    })),
    logHead: { tenant, size: logSize + 1, range: rangeOf(logSize + 1) },
  }
}

/** The receipt `record` keeps with the command: about the size of the real one for one grant. */
const RECEIPT = JSON.stringify({ receipt: "x".repeat(1_000) })

/** The same writes as `record` of a grant, by hand through Kysely in the caller's transaction (reading the log head as record does). */
export const handWritten = async (trx: Kysely<Tables>, tenant: string, i: number, lockHead = false) => {
  // Concurrent writers of a tenant take turns on its log head, as record's do (a row lock on PostgreSQL).
  if (lockHead)
    await trx
      .insertInto("log_head")
      .values({ tenant, size: 0, range: "[]" })
      .onConflict((oc) => oc.column("tenant").doNothing())
      .execute()
  let read = trx.selectFrom("log_head").select("size").where("tenant", "=", tenant)
  if (lockHead) read = read.forUpdate()
  const head = await read.executeTakeFirst()
  const r = recordRows(tenant, i, head ? Number(head.size) : 0)
  await trx.insertInto("data_key").values(r.dataKey).execute()
  await trx.insertInto("event").values(r.event).execute()
  await trx.insertInto("log_entry").values(r.logEntry).execute()
  if (r.logNodes.length > 0) await trx.insertInto("log_node").values(r.logNodes).execute()
  if (head) await trx.updateTable("log_head").set(r.logHead).where("tenant", "=", tenant).execute()
  else await trx.insertInto("log_head").values(r.logHead).execute()
  await trx
    .insertInto("subject")
    .values(r.subject)
    .onConflict((oc) => oc.columns(["tenant", "subject"]).doUpdateSet({ seq: 1, head: HASH }))
    .execute()
  await trx
    .insertInto("state")
    .values(r.state)
    .onConflict((oc) =>
      oc.columns(["tenant", "subject", "purpose"]).doUpdateSet({ status: "granted", seq: 1 }),
    )
    .execute()
  await trx.insertInto("outbox").values(r.outbox).execute()
  await trx
    .insertInto("command")
    .values({ ...r.command, receipt: RECEIPT })
    .execute()
}

const insert = (table: string, row: Record<string, unknown>) =>
  `insert into ${table} (${Object.keys(row).join(", ")}) values (${Object.keys(row)
    .map(() => "?")
    .join(", ")})`

/**
 * The physical-limit line on SQLite: the same writes as `handWritten`, through better-sqlite3
 * statements prepared once, in one `BEGIN IMMEDIATE` transaction on a connection of its own to
 * the same file (same pragmas as the store's).
 */
export const rawSqlite = (database: BenchDatabase) => {
  const raw = new Database(database.url.replace(/^sqlite:/, ""))
  raw.pragma("journal_mode = WAL")
  raw.pragma("secure_delete = ON")
  raw.pragma("busy_timeout = 5000")
  raw.pragma("synchronous = NORMAL")
  const t = (name: string) => `"${database.prefix}${name}"`
  const prepared = new Map<string, Database.Statement>()
  const run = (table: string, row: Record<string, unknown>, suffix = "") => {
    const text = `${insert(t(table), row)}${suffix}`
    let statement = prepared.get(text)
    if (!statement) {
      statement = raw.prepare(text)
      prepared.set(text, statement)
    }
    statement.run(...Object.values(row))
  }
  const readHead = raw.prepare(`select size from ${t("log_head")} where tenant = ?`).pluck()
  const updateHead = raw.prepare(`update ${t("log_head")} set size = ?, range = ? where tenant = ?`)
  const write = raw.transaction((tenant: string, i: number) => {
    const size = readHead.get(tenant) as number | undefined
    const r = recordRows(tenant, i, size ?? 0)
    run("data_key", r.dataKey)
    run("event", r.event)
    run("log_entry", r.logEntry)
    for (const node of r.logNodes) run("log_node", node)
    if (size === undefined) run("log_head", r.logHead)
    else updateHead.run(r.logHead.size, r.logHead.range, tenant)
    run("subject", r.subject, " on conflict (tenant, subject) do update set seq = 1, head = excluded.head")
    run("state", r.state, " on conflict (tenant, subject, purpose) do update set status = 'granted', seq = 1")
    for (const o of r.outbox) run("outbox", o)
    run("command", { ...r.command, receipt: RECEIPT })
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
 * The physical-limit line on PostgreSQL: the same writes in a single `pg` query (a
 * data-modifying CTE, prepared by name), so one round trip and one commit. The log head is
 * upserted in the statement (its row lock serialises a tenant's writers as record's does); the
 * log nodes an append completes follow a per-tenant counter kept here.
 */
export const rawPostgres = (database: BenchDatabase, connections = 8) => {
  const client = new pg.Pool({ connectionString: database.url, max: connections })
  const t = (name: string) => `"${database.prefix}${name}"`
  const sizes = new Map<string, number>()
  const texts = new Map<number, string>()
  const textFor = (nodes: number) => {
    let text = texts.get(nodes)
    if (text) return text
    const r = recordRows("t", 0, 0)
    const params: Array<string> = []
    const values = (row: Record<string, unknown>) =>
      `(${Object.keys(row)
        .map(() => {
          params.push("")
          return `$${params.length}`
        })
        .join(", ")})`
    const cols = (row: Record<string, unknown>) => Object.keys(row).join(", ")
    const node = { tenant: "", level: 0, idx: 0, hash: "" }
    const parts = [
      `d as (insert into ${t("data_key")} (${cols(r.dataKey)}) values ${values(r.dataKey)})`,
      `e as (insert into ${t("event")} (${cols(r.event)}) values ${values(r.event)})`,
      `l as (insert into ${t("log_entry")} (${cols(r.logEntry)}) values ${values(r.logEntry)})`,
      ...(nodes > 0
        ? [
            `n as (insert into ${t("log_node")} (${cols(node)}) values ${Array.from({ length: nodes }, () => values(node)).join(", ")})`,
          ]
        : []),
      `h as (insert into ${t("log_head")} (${cols(r.logHead)}) values ${values(r.logHead)} on conflict (tenant) do update set size = ${t("log_head")}.size + 1, range = excluded.range)`,
      `s as (insert into ${t("subject")} (${cols(r.subject)}) values ${values(r.subject)} on conflict (tenant, subject) do update set seq = 1, head = excluded.head)`,
      `st as (insert into ${t("state")} (${cols(r.state)}) values ${values(r.state)} on conflict (tenant, subject, purpose) do update set status = 'granted', seq = 1)`,
      `o as (insert into ${t("outbox")} (${cols(r.outbox[0]!)}) values ${values(r.outbox[0]!)}, ${values(r.outbox[1]!)})`,
    ]
    text = `with ${parts.join(",\n")} insert into ${t("command")} (${cols(r.command)}) values ${values(r.command)}`
    texts.set(nodes, text)
    return text
  }
  return {
    record: async (tenant: string, i: number) => {
      const size = sizes.get(tenant) ?? 0
      sizes.set(tenant, size + 1)
      const r = recordRows(tenant, i, size)
      await client.query({
        name: `raw_${database.prefix}${r.logNodes.length}`,
        text: textFor(r.logNodes.length),
        values: [
          ...Object.values(r.dataKey),
          ...Object.values(r.event),
          ...Object.values(r.logEntry),
          ...r.logNodes.flatMap((n) => Object.values(n)),
          ...Object.values(r.logHead),
          ...Object.values(r.subject),
          ...Object.values(r.state),
          ...Object.values(r.outbox[0]!),
          ...Object.values(r.outbox[1]!),
          ...Object.values({ ...r.command, receipt: RECEIPT }),
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
