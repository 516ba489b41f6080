/**
 * PostgreSQL's subject transaction in two round trips: one statement reads the subject (its
 * state, the idempotency key asked for and its data key), the body runs with every write kept
 * in memory, and one statement (`commit_v1`, migration 0007) checks that the subject is still
 * as read and does all the writes, proof-log append and change-feed entry included, as its own
 * transaction. No transaction is held open across the body, so the tenant's log-head lock is
 * held for that one statement only. A writer that lost the race gets a serialization failure
 * and the store runs the body again; a body that needs more than a command's writes (an erasure,
 * the alias or ledger reads) is run under the subject's row lock instead.
 */
import { type ConsentStore, MerkleLog, type State, StoreError } from "@consentkit/core"
import { Effect } from "effect"
import { type Kysely, sql } from "kysely"
import { commandOf, subjectStateOf } from "../internal/codec.js"
import type { DataKey } from "../internal/datakeys.js"
import { prepare, run, slot } from "../internal/prepared.js"
import type { StateTable, Tables } from "../schema.js"
import type { StoreContext } from "./context.js"
import { commandRow, encryptedRows, outboxRows, stateChanges } from "./subject.js"
import { randomBytes, randomUUID } from "node:crypto"
import type { Selectable } from "kysely"

/** Raised (as a defect, so no body can catch it) when the body asks for what only the locked path does. */
const NEEDS_LOCK = Symbol("consentkit/needs-the-subject-lock")
interface NeedsLock {
  readonly [NEEDS_LOCK]: true
}
const needsLock: NeedsLock = { [NEEDS_LOCK]: true }
export const isNeedsLock = (defect: unknown): defect is NeedsLock =>
  typeof defect === "object" && defect !== null && NEEDS_LOCK in defect

/** What the first statement read: the subject's row (if any), its state, a command and its data key. */
interface Read {
  readonly exists: boolean
  readonly seq: number | null
  readonly head: string | null
  readonly state: State.SubjectState | null
  readonly key: DataKey | null
  readonly commandKey: string | null
  readonly command: ConsentStore.StoredCommand | null
}

interface ReadRow {
  readonly s_exists: boolean | null
  readonly s_seq: number | null
  readonly s_head: string | null
  readonly s_jurisdiction: string | null
  readonly s_age: number | null
  readonly key_id: string | null
  readonly data_key: string | null
  readonly command: Selectable<Tables["command"]> | null
  readonly purpose: string | null
  readonly [column: string]: unknown
}

/** The two statements, compiled once per store. */
export const oneTripStatements = (db: Kysely<Tables>, prefix: string) => {
  const tenant = slot("tenant")
  const subject = slot("subject")
  const read = sql<ReadRow>`select s.subject is not null as s_exists, s.seq as s_seq, s.head as s_head,
      s.jurisdiction as s_jurisdiction, s.age as s_age,
      k.key_id, k.data_key,
      (select row_to_json(c) from ${sql.table("command")} c where c.tenant = ${tenant} and c.key = ${slot("key")}) as command,
      p.purpose, p.status, p.notice_version, p.occurred_at, p.expires_at, p.event_id, p.seq,
      p.source, p.actor, p.guardian_granted
    from (select 1) as one
    left join ${sql.table("subject")} s on s.tenant = ${tenant} and s.subject = ${subject}
    left join ${sql.table("data_key")} k on k.tenant = ${tenant} and k.subject = ${subject}
    left join ${sql.table("state")} p on p.tenant = s.tenant and p.subject = s.subject`
  const commit = sql<{
    position: string | null
  }>`select ${sql.raw(`${prefix}commit_v1`)}(${slot("doc")}::jsonb) as position`
  return {
    read: prepare({ compile: () => read.compile(db) }),
    commit: prepare({ compile: () => commit.compile(db) }),
  }
}

export type OneTripStatements = ReturnType<typeof oneTripStatements>

const readSubject = async (
  db: Kysely<Tables>,
  statements: OneTripStatements,
  tenant: string,
  subject: string,
  commandKey: string | null,
): Promise<Read> => {
  const rows = (await run<ReadRow>(db, statements.read, { tenant, subject, key: commandKey ?? "" })).rows
  const first = rows[0]!
  const purposes: Array<Selectable<StateTable>> = []
  for (const r of rows)
    if (r.purpose !== null) purposes.push({ ...r, tenant, subject } as unknown as Selectable<StateTable>)
  const exists = first.s_exists === true
  return {
    exists,
    seq: first.s_seq,
    head: first.s_head,
    state: exists
      ? subjectStateOf(
          {
            tenant,
            subject,
            seq: first.s_seq,
            head: first.s_head,
            jurisdiction: first.s_jurisdiction,
            age: first.s_age,
          },
          purposes,
        )
      : null,
    key:
      first.key_id !== null && first.data_key !== null
        ? { id: first.key_id, key: Buffer.from(first.data_key, "base64") }
        : null,
    commandKey,
    command: commandKey !== null && first.command ? commandOf(first.command) : null,
  }
}

/** The writes a body asked for, sent in the commit statement. */
interface Pending {
  dataKey: { tenant: string; subject: string; key_id: string; data_key: string; created_at: number } | null
  events: Array<unknown>
  next: State.SubjectState | null
  outbox: Array<unknown>
  command: unknown
  aliases: Array<{ kind: string; value: string }>
  log: Array<{ kind: string; ref: string; entry: string; leafHash: string }>
  wrote: boolean
}

type Body<A, E> = (tx: ConsentStore.SubjectTransaction) => Effect.Effect<A, E>

/** One try of a subject transaction in two round trips (see the module's comment). */
export const oneTripTransaction = <A, E>(
  ctx: StoreContext,
  statements: OneTripStatements,
  tenant: string,
  subject: string,
  body: Body<A, E>,
): Effect.Effect<A, E | StoreError> => {
  const { attempt, db } = ctx
  let read: Read | null = null
  const pending: Pending = {
    dataKey: null,
    events: [],
    next: null,
    outbox: [],
    command: null,
    aliases: [],
    log: [],
    wrote: false,
  }
  const readOnce = (commandKey: string | null) =>
    attempt("read the subject", async () => {
      if (read === null) read = await readSubject(db, statements, tenant, subject, commandKey)
      return read
    })
  const locked = Effect.die(needsLock)
  const write = (work: (r: Read) => void) =>
    Effect.map(readOnce(null), (r) => {
      pending.wrote = true
      work(r)
    })
  const keyOf = (r: Read): DataKey => {
    if (r.key) return r.key
    const key = { id: randomUUID(), key: randomBytes(32) }
    pending.dataKey = {
      tenant,
      subject,
      key_id: key.id,
      data_key: key.key.toString("base64"),
      created_at: Date.now(),
    }
    read = { ...r, key }
    return key
  }

  const tx: ConsentStore.SubjectTransaction = {
    state: Effect.map(readOnce(null), (r) => pending.next ?? r.state),
    findCommand: (key) =>
      Effect.suspend(() => {
        const r: Read | null = read
        if (r === null) return Effect.map(readOnce(key), (first) => first.command)
        return r.commandKey === key ? Effect.succeed(r.command) : locked
      }),
    append: (events) =>
      write((r) => {
        if (events.length > 0) pending.events.push(...encryptedRows(keyOf(r), events))
      }),
    saveState: (next) =>
      write(() => {
        pending.next = next
      }),
    enqueue: (deliveries) =>
      write(() => {
        pending.outbox.push(...outboxRows(deliveries))
      }),
    saveCommand: (command) =>
      write(() => {
        pending.command = commandRow(tenant, command)
      }),
    addAlias: (alias) =>
      write(() => {
        pending.aliases.push({ kind: alias.kind, value: alias.value })
      }),
    aliases: locked,
    events: locked,
    erase: () => locked,
    log: {
      appendLog: (build) =>
        write(() => {
          // Entries and leaf hashes do not depend on the range; their indices and the nodes
          // above them are the database's to compute, under the head's lock.
          const append = build(MerkleLog.emptyRange)
          for (const e of append.entries)
            pending.log.push({ kind: e.kind, ref: e.ref, entry: e.entry, leafHash: e.leafHash })
        }),
    },
  }

  return Effect.flatMap(body(tx), (result) => {
    const r: Read | null = read
    if (!pending.wrote || r === null) return Effect.succeed(result)
    const before = r.state
    const next = pending.next
    const changes = next
      ? stateChanges(tenant, subject, before, next)
      : { inserts: [], updates: [], deletes: [] }
    const doc = {
      tenant,
      subject,
      now: Date.now(),
      expect: { exists: r.exists, seq: r.seq, head: r.head },
      next: next && { seq: next.seq, head: next.head, jurisdiction: next.jurisdiction, age: next.age },
      dataKey: pending.dataKey,
      events: pending.events,
      stateInserts: changes.inserts,
      stateUpdates: changes.updates,
      stateDeletes: changes.deletes,
      outbox: pending.outbox,
      command: pending.command,
      aliases: pending.aliases,
      log: pending.log,
      change: next ? { seq: next.seq } : null,
      changes: ctx.channels?.changes ?? null,
      work: pending.outbox.length > 0 ? (ctx.channels?.work ?? null) : null,
    }
    return Effect.as(
      attempt("commit", () => run(db, statements.commit, { doc: JSON.stringify(doc) })),
      result,
    )
  })
}

/** A store error for a database migrated before 0007 (the function is missing). */
export const isMissingFunction = (error: unknown): boolean =>
  error instanceof StoreError &&
  typeof error.cause === "object" &&
  error.cause !== null &&
  (error.cause as { code?: unknown }).code === "42883"
