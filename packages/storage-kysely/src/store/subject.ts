import { randomBytes, randomUUID } from "node:crypto"
import type { ConsentStore, Intent, Ledger, State } from "@consentkit/core"
import type { Kysely, Selectable } from "kysely"
import { commandOf, eventRow, intentJson, samePurposeState, stateRow } from "../internal/codec.js"
import { type DataKey, destroyKey, encrypt } from "../internal/datakeys.js"
import { run } from "../internal/prepared.js"
import type { Tables } from "../schema.js"
import type { StoreContext } from "./context.js"
import type { PendingChange } from "./feed.js"
import { readEvents, readState } from "./ledger.js"
import { logOperations } from "./log.js"
import { scrubOutbox } from "./outbox.js"
import type { Statements } from "./statements.js"

/** What a subject transaction reports back to the code that commits it. */
export interface TransactionHooks {
  /** Called before any write. */
  readonly written: () => void
  /** Called when intents were enqueued, so dispatchers are woken after commit. */
  readonly enqueued: () => void
  /** Called when the subject's state changed or it was erased: the change goes in the feed before commit. */
  readonly changed: (change: PendingChange) => void
}

/** Event rows with their personal fields encrypted under the subject's data key (erasure destroys the key). */
export const encryptedRows = (key: DataKey, events: ReadonlyArray<Ledger.ConsentEvent>) =>
  events.map((e) => {
    const row = eventRow(e)
    return {
      ...row,
      evidence: encrypt(key, e.id, row.evidence),
      actor_id: row.actor_id === null ? null : encrypt(key, e.id, row.actor_id),
    }
  })

/** The state rows a save writes: only purposes that changed (a command usually touches one or two). */
export const stateChanges = (
  tenant: string,
  subject: string,
  before: State.SubjectState | null,
  next: State.SubjectState,
) => {
  const inserts: Array<ReturnType<typeof stateRow>> = []
  const updates: Array<ReturnType<typeof stateRow>> = []
  for (const [purpose, p] of next.purposes) {
    const old = before?.purposes.get(purpose)
    if (!old) inserts.push(stateRow(tenant, subject, p))
    else if (!samePurposeState(old, p)) updates.push(stateRow(tenant, subject, p))
  }
  const deletes: Array<string> = []
  for (const purpose of before?.purposes.keys() ?? []) if (!next.purposes.has(purpose)) deletes.push(purpose)
  return { inserts, updates, deletes }
}

/** Outbox rows of deliveries, pending. */
export const outboxRows = (deliveries: ReadonlyArray<ConsentStore.NewDelivery>) =>
  deliveries.map((d) => ({
    tenant: d.intent.tenant,
    // An erase waits in its pseudonym's lane, behind the subject's rows its erasure scrubbed.
    subject: d.intent.kind === "subject.erase" && d.intent.pseudonym ? d.intent.pseudonym : d.intent.subject,
    adapter: d.adapter,
    intent_id: d.intent.id,
    kind: d.intent.kind,
    intent: intentJson(d.intent),
    status: "pending",
    attempts: 0,
    available_at: d.intent.createdAt.getTime(),
    lease_owner: null,
    lease_until: 0,
    last_error: null,
    created_at: d.intent.createdAt.getTime(),
    delivered_at: null,
  }))

/** The idempotency key's row. */
export const commandRow = (tenant: string, command: ConsentStore.StoredCommand) => ({
  tenant,
  key: command.key,
  subject: command.subject,
  command_id: command.commandId,
  recorded_at: command.recordedAt.getTime(),
  event_ids: JSON.stringify(command.eventIds),
  receipt: command.receipt === null ? null : JSON.stringify(command.receipt),
})

/** The operations of one subject transaction on a connection that is already in a transaction. */
export const subjectOperations = (
  ctx: StoreContext,
  sqlOf: Statements,
  conn: Kysely<Tables>,
  tenant: string,
  subject: string,
  hooks: TransactionHooks,
): ConsentStore.SubjectTransaction => {
  const { attempt, dialect } = ctx
  let known: State.SubjectState | null | undefined
  const step = <A>(doing: string, work: () => Promise<A>) => attempt(doing, work)
  const write = <A>(doing: string, work: () => Promise<A>) =>
    attempt(doing, async () => {
      hooks.written()
      return work()
    })

  return {
    state: step("read the state", async () => {
      known = await readState(conn, sqlOf, tenant, subject)
      return known
    }),

    findCommand: (key) =>
      step("read the idempotency key", async () => {
        const row = (await run<Selectable<Tables["command"]>>(conn, sqlOf.command, { tenant, key })).rows[0]
        return row ? commandOf(row) : null
      }),

    append: (events) =>
      write("append events", async () => {
        if (events.length === 0) return
        // Personal fields go in encrypted under the subject's data key: erasure destroys the key.
        const key = await keyOf(conn, sqlOf, tenant, subject)
        await run(conn, sqlOf.insertEvents(events.length), {}, encryptedRows(key, events))
      }),

    saveState: (next) =>
      write("save the state", async () => {
        const before = known !== undefined ? known : await readState(conn, sqlOf, tenant, subject)
        await run(conn, sqlOf.saveSubject, {
          tenant,
          subject,
          seq: next.seq,
          head: next.head,
          jurisdiction: next.jurisdiction,
          age: next.age,
          created_at: Date.now(),
        })
        const { inserts, updates, deletes } = stateChanges(tenant, subject, before, next)
        for (const row of updates) await run(conn, sqlOf.updateState, row)
        if (inserts.length > 0) await run(conn, sqlOf.insertStates(inserts.length), {}, inserts)
        for (const purpose of deletes) await run(conn, sqlOf.deleteState, { tenant, subject, purpose })
        known = next
        hooks.changed({ seq: next.seq, kind: "write" })
      }),

    enqueue: (deliveries) =>
      write("enqueue intents", async () => {
        if (deliveries.length === 0) return
        await run(conn, sqlOf.insertOutbox(deliveries.length), {}, outboxRows(deliveries))
        hooks.enqueued()
      }),

    saveCommand: (command) =>
      write("keep the idempotency key", async () => {
        await run(conn, sqlOf.saveCommand, commandRow(tenant, command))
      }),

    addAlias: (alias) =>
      write("link the alias", async () => {
        const insert = conn
          .insertInto("alias")
          .values({ tenant, kind: alias.kind, value: alias.value, subject })
        await dialect.upsert(insert, ["tenant", "kind", "value"], { subject }).execute()
      }),

    aliases: step("read the aliases", async () => {
      const rows = await conn
        .selectFrom("alias")
        .select(["kind", "value"])
        .where("tenant", "=", tenant)
        .where("subject", "=", subject)
        .orderBy("id")
        .execute()
      return rows.map((r): Intent.Alias => ({ kind: r.kind, value: r.value }))
    }),

    events: step("read the ledger", () => readEvents(conn, tenant, subject)),

    erase: (request, erased) =>
      write("erase the subject", async () => {
        // The guard triggers let the ledger rows of this subject change while the permit exists (this transaction only).
        await conn.insertInto("erasure_permit").values({ tenant, subject }).execute()
        await conn.deleteFrom("event").where("tenant", "=", tenant).where("subject", "=", subject).execute()
        await conn
          .deleteFrom("erasure_permit")
          .where("tenant", "=", tenant)
          .where("subject", "=", subject)
          .execute()
        if (erased.length > 0) await conn.insertInto("event").values(erased.map(eventRow)).execute()
        for (const table of ["state", "alias", "command", "subject", "change"] as const)
          await conn.deleteFrom(table).where("tenant", "=", tenant).where("subject", "=", subject).execute()
        // Every row already queued, pending ones too, takes the pseudonym; the erase intent enqueued
        // after this keeps the id the adapters must erase, in the pseudonym's lane (see enqueue).
        const queued = await conn
          .selectFrom("outbox")
          .select(["id", "intent"])
          .where("tenant", "=", tenant)
          .where("subject", "=", subject)
          .execute()
        await scrubOutbox(conn, queued, request.pseudonym)
        const destroyedKey = await destroyKey(conn, tenant, subject, request.requestedAt)
        await conn
          .insertInto("erasure")
          .values({
            tenant,
            id: request.id,
            pseudonym: request.pseudonym,
            requested_at: request.requestedAt.getTime(),
            requested_by: request.requestedBy,
            intent_id: request.intentId,
            destroyed_key_id: destroyedKey?.id ?? null,
            destroyed_key_at: destroyedKey ? destroyedKey.at.getTime() : null,
          })
          .execute()
        known = null
        hooks.changed({ seq: erased.at(-1)?.seq ?? 0, kind: "erase", pseudonym: request.pseudonym })
        return { destroyedKey }
      }),

    log: logOperations(ctx, sqlOf, conn, tenant, hooks.written),
  }
}

/** Locks the subject's row, inserting it first when missing; true when it may have been created now. */
export const lockSubject = async (
  { dialect }: StoreContext,
  sqlOf: Statements,
  conn: Kysely<Tables>,
  tenant: string,
  subject: string,
): Promise<boolean> => {
  if (!dialect.locksSubjectRow) return false
  const key = { tenant, subject }
  if ((await run(conn, sqlOf.lock, key)).rows.length > 0) return false
  await run(conn, sqlOf.insertLock, { ...key, created_at: Date.now() })
  await run(conn, sqlOf.lock, key)
  return true
}

/** The subject's data key, created on first use (the caller holds the subject's lock). */
const keyOf = async (
  conn: Kysely<Tables>,
  sqlOf: Statements,
  tenant: string,
  subject: string,
): Promise<DataKey> => {
  const row = (await run<{ key_id: string; data_key: string }>(conn, sqlOf.dataKey, { tenant, subject }))
    .rows[0]
  if (row) return { id: row.key_id, key: Buffer.from(row.data_key, "base64") }
  const key = { id: randomUUID(), key: randomBytes(32) }
  await run(conn, sqlOf.insertDataKey, {
    tenant,
    subject,
    key_id: key.id,
    data_key: key.key.toString("base64"),
    created_at: Date.now(),
  })
  return key
}

/** Deletes a subject row that only served as a lock: a transaction that wrote nothing leaves no trace. */
export const releaseSubject = (conn: Kysely<Tables>, tenant: string, subject: string) =>
  conn
    .deleteFrom("subject")
    .where("tenant", "=", tenant)
    .where("subject", "=", subject)
    .where("seq", "is", null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("alias")
            .select("alias.id")
            .where("alias.tenant", "=", tenant)
            .where("alias.subject", "=", subject),
        ),
      ),
    )
    .execute()
