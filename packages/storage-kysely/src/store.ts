/**
 * The store port on Kysely: ledger, state, outbox with leases, aliases, idempotency keys and
 * erasure requests in SQL, on SQLite, PostgreSQL (server or PGlite) and MySQL/MariaDB.
 *
 * @since 0.1.0
 */
import type { AnyKysely } from "./internal/kysely.js"
import { type ConsentStore, Intent, type Ledger, State, type StoreError } from "@consentkit/core"
import { Cause, Context, Effect, Exit, Schedule, Semaphore } from "effect"
import { type Kysely, type Selectable, sql } from "kysely"
import {
  commandOf,
  dateOrNull,
  deliveryOf,
  erasureOf,
  eventOf,
  eventRow,
  intentJson,
  intentOf,
  num,
  parseOutboxId,
  samePurposeState,
  stateRow,
  subjectStateOf,
} from "./internal/codec.js"
import { begin, commit, holdConnection, rollback, transaction } from "./internal/connection.js"
import { toStoreError } from "./internal/errors.js"
import { type Notifications, makeListener } from "./internal/notify.js"
import { TablePrefixPlugin } from "./internal/prefix.js"
import { prepare, preparedBy, run, slot } from "./internal/prepared.js"
import {
  checkPrefix,
  DEFAULT_PREFIX,
  type SqlDialect,
  type StateTable,
  TABLES,
  type Tables,
} from "./schema.js"

/** How to build a store over an existing Kysely instance. */
export interface KyselyStoreConfig {
  /** A Kysely instance; the store applies its table prefix itself, so pass it without plugins of ours. */
  readonly db: AnyKysely
  readonly dialect: SqlDialect
  /** Table name prefix (default `consentkit_`); must match the one `migrate` used. */
  readonly tablePrefix?: string
  /** PostgreSQL server only: how to open a LISTEN connection, so dispatchers wake when work arrives. */
  readonly notifications?: Notifications
  /** Overrides of the declared capabilities (e.g. `{ name: "pglite", multiProcess: false }`). */
  readonly capabilities?: Partial<ConsentStore.StoreCapabilities>
}

/** A page of subject ids. */
export interface SubjectPage {
  readonly subjects: ReadonlyArray<string>
  readonly next: string | null
}

/** The store, with what operators and tools need beyond the port. */
export interface KyselyConsentStore extends ConsentStore.ConsentStoreShape {
  readonly dialect: SqlDialect
  readonly tablePrefix: string
  /** The Kysely instance with the table prefix applied (queries name tables without it). */
  readonly db: Kysely<Tables>
  /**
   * Runs `effect` with every subject transaction it starts folded into one database transaction
   * (SQLite): transactions of one subject still run one after another, different subjects'
   * side by side, and all commit together or not at all (any failed subject transaction fails
   * the batch). Other dialects run `effect` unchanged. Bulk import uses it: one commit per batch.
   */
  readonly batch: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
  /** The subjects of a tenant that have a state, in id order after `after`. */
  readonly subjects: (options: {
    readonly tenant: string
    readonly after: string | null
    readonly limit: number
  }) => Effect.Effect<SubjectPage, StoreError>
  /** Counts every row of a tenant across the store's tables. */
  readonly rowsOf: (tenant: string) => Effect.Effect<number, StoreError>
  /** Stops the LISTEN connection (the Kysely instance belongs to the caller and stays open). */
  readonly close: () => Promise<void>
}

/** A subject row joined with one of its purposes (null columns when it has none). */
interface JoinedStateRow {
  readonly s_seq: number | null
  readonly s_head: string | null
  readonly s_jurisdiction: string | null
  readonly s_age: number | null
  readonly purpose: string | null
  readonly [column: string]: unknown
}

interface Batch {
  readonly owner: symbol
  readonly conn: Kysely<Tables>
  /** One lock per subject: a subject's transactions still run one after another. */
  readonly locks: Map<string, Semaphore.Semaphore>
  /** The first failure of a subject transaction: the whole batch rolls back. */
  failure: { readonly error: unknown } | null
}

/** The batch the current fiber runs in, if any (see `KyselyConsentStore.batch`). */
const CurrentBatch = Context.Reference<Batch | null>("@consentkit/storage-kysely/CurrentBatch", {
  defaultValue: () => null,
})

const MAX_ATTEMPTS = 8
const conflictBackoff = Schedule.jittered(Schedule.exponential("12 millis"))

// Shapes used only to read the column lists of the row codecs.
const sampleEvent: Ledger.ConsentEvent = {
  id: "",
  tenant: "",
  subject: "",
  seq: 0,
  purpose: "",
  action: "grant",
  noticeVersion: 0,
  occurredAt: new Date(0),
  recordedAt: new Date(0),
  source: "",
  actor: { kind: "subject" },
  evidence: {},
  jurisdiction: "",
  subjectAge: null,
  expiresAt: null,
  commandId: "",
  salt: "",
  personalDigest: "",
  prevHash: null,
  hash: "",
  erased: false,
}
const samplePurpose: State.PurposeState = {
  purpose: "",
  status: "granted",
  noticeVersion: 0,
  occurredAt: new Date(0),
  expiresAt: null,
  eventId: "",
  seq: 0,
  source: "",
  actor: "subject",
  guardianGranted: false,
}

/** Builds the store over a migrated database. */
export const kyselyStore = (config: KyselyStoreConfig): KyselyConsentStore => {
  const dialect = config.dialect
  const prefix = checkPrefix(config.tablePrefix ?? DEFAULT_PREFIX)
  const db = (config.db as Kysely<Tables>).withPlugin(new TablePrefixPlugin(prefix, TABLES))
  const identity = Symbol("store")
  const channel = `${prefix}work`
  const listener =
    dialect === "postgres" && config.notifications ? makeListener(config.notifications, channel) : null
  // SQLite allows one writer; in-process writers queue on its single connection, other processes on its lock.
  const capabilities: ConsentStore.StoreCapabilities = {
    name: dialect,
    supportsSkipLocked: dialect !== "sqlite",
    supportsListenNotify: listener !== null,
    supportsReturning: dialect !== "mysql",
    multiProcess: true,
    ...config.capabilities,
  }

  // Errors that ask for the whole subject transaction to run again (deadlock, busy, serialisation).
  const conflicts = new WeakSet<object>()
  const fail = (cause: unknown, doing: string): StoreError => {
    const error = toStoreError(cause, dialect, doing)
    if (error.code === "CONFLICT" && error.isRetryable) conflicts.add(error)
    return error
  }
  const attempt = <A>(doing: string, work: () => Promise<A>): Effect.Effect<A, StoreError> =>
    Effect.tryPromise({ try: work, catch: (cause) => fail(cause, doing) })

  /** Runs a query on the batch connection when the fiber is in one of our batches, else on the pool. */
  const query = <A>(
    doing: string,
    work: (conn: Kysely<Tables>) => Promise<A>,
  ): Effect.Effect<A, StoreError> =>
    CurrentBatch.use((batch) =>
      attempt(doing, () => work(batch && batch.owner === identity ? batch.conn : db)),
    )

  /** Runs Promise work in its own transaction (or inside the current batch's). */
  const inTransaction = <A>(
    doing: string,
    work: (conn: Kysely<Tables>) => Promise<A>,
  ): Effect.Effect<A, StoreError> =>
    CurrentBatch.use((batch) =>
      batch && batch.owner === identity
        ? attempt(doing, () => work(batch.conn))
        : attempt(doing, () => transaction(db, dialect, work)),
    )

  // The write path's queries, compiled once per store (and per row count for inserts).
  const EVENT_COLUMNS = Object.keys(eventRow(sampleEvent)) as Array<keyof ReturnType<typeof eventRow>>
  const STATE_COLUMNS = Object.keys(stateRow("", "", samplePurpose)) as Array<
    keyof ReturnType<typeof stateRow>
  >
  const STATE_VALUES = STATE_COLUMNS.filter((c) => c !== "tenant" && c !== "subject" && c !== "purpose")
  const OUTBOX_COLUMNS = [
    "tenant",
    "subject",
    "adapter",
    "intent_id",
    "kind",
    "intent",
    "status",
    "attempts",
    "available_at",
    "lease_owner",
    "lease_until",
    "last_error",
    "created_at",
    "delivered_at",
  ] as const
  const named = <const C extends string>(columns: ReadonlyArray<C>) =>
    Object.fromEntries(columns.map((c) => [c, slot(c)])) as Record<C, never>
  const rowsOf = <C extends string>(columns: ReadonlyArray<C>, n: number) =>
    Array.from(
      { length: n },
      (_, i) => Object.fromEntries(columns.map((c) => [c, slot(`${i}:${c}`)])) as Record<C, never>,
    )
  const byKey = { tenant: slot("tenant"), subject: slot("subject") }
  const lockRow = db.insertInto("subject").values({
    ...byKey,
    seq: null,
    head: null,
    jurisdiction: null,
    age: null,
    created_at: slot("created_at"),
  })
  const subjectRow = db
    .insertInto("subject")
    .values(named(["tenant", "subject", "seq", "head", "jurisdiction", "age", "created_at"]))
  const subjectSet = named(["seq", "head", "jurisdiction", "age"])
  const commandRow = db
    .insertInto("command")
    .values(named(["tenant", "key", "subject", "command_id", "recorded_at", "event_ids", "receipt"]))
  const commandSet = named(["subject", "command_id", "recorded_at", "event_ids", "receipt"])
  const sqlOf = {
    // The subject row and its purposes in one read (a subject without purposes still has its row).
    state: prepare(
      db
        .selectFrom("subject as s")
        .leftJoin("state as p", (join) =>
          join.onRef("p.tenant", "=", "s.tenant").onRef("p.subject", "=", "s.subject"),
        )
        .select([
          "s.tenant as s_tenant",
          "s.subject as s_subject",
          "s.seq as s_seq",
          "s.head as s_head",
          "s.jurisdiction as s_jurisdiction",
          "s.age as s_age",
          "p.purpose",
          "p.status",
          "p.notice_version",
          "p.occurred_at",
          "p.expires_at",
          "p.event_id",
          "p.seq",
          "p.source",
          "p.actor",
          "p.guardian_granted",
        ])
        .where("s.tenant", "=", byKey.tenant)
        .where("s.subject", "=", byKey.subject),
    ),
    command: prepare(
      db.selectFrom("command").selectAll().where("tenant", "=", byKey.tenant).where("key", "=", slot("key")),
    ),
    lock: prepare(
      db
        .selectFrom("subject")
        .select("seq")
        .where("tenant", "=", byKey.tenant)
        .where("subject", "=", byKey.subject)
        .forUpdate(),
    ),
    insertLock: prepare(
      dialect === "mysql"
        ? lockRow.onDuplicateKeyUpdate({ tenant: byKey.tenant })
        : lockRow.onConflict((oc) => oc.doNothing()),
    ),
    saveSubject: prepare(
      dialect === "mysql"
        ? subjectRow.onDuplicateKeyUpdate(subjectSet)
        : subjectRow.onConflict((oc) => oc.columns(["tenant", "subject"]).doUpdateSet(subjectSet)),
    ),
    insertEvents: preparedBy((n: number) => db.insertInto("event").values(rowsOf(EVENT_COLUMNS, n))),
    insertStates: preparedBy((n: number) => db.insertInto("state").values(rowsOf(STATE_COLUMNS, n))),
    updateState: prepare(
      db
        .updateTable("state")
        .set(named(STATE_VALUES))
        .where("tenant", "=", byKey.tenant)
        .where("subject", "=", byKey.subject)
        .where("purpose", "=", slot("purpose")),
    ),
    deleteState: prepare(
      db
        .deleteFrom("state")
        .where("tenant", "=", byKey.tenant)
        .where("subject", "=", byKey.subject)
        .where("purpose", "=", slot("purpose")),
    ),
    insertOutbox: preparedBy((n: number) => db.insertInto("outbox").values(rowsOf(OUTBOX_COLUMNS, n))),
    saveCommand: prepare(
      dialect === "mysql"
        ? commandRow.onDuplicateKeyUpdate(commandSet)
        : commandRow.onConflict((oc) => oc.columns(["tenant", "key"]).doUpdateSet(commandSet)),
    ),
  }

  const readState = async (
    conn: Kysely<Tables>,
    tenant: string,
    subject: string,
  ): Promise<State.SubjectState | null> => {
    const rows = (await run<JoinedStateRow>(conn, sqlOf.state, { tenant, subject })).rows
    const first = rows[0]
    if (!first || first.s_seq === null) return null
    const purposes: Array<Selectable<StateTable>> = []
    for (const r of rows)
      if (r.purpose !== null) purposes.push({ ...r, tenant, subject } as unknown as Selectable<StateTable>)
    return subjectStateOf(
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
  }

  const readEvents = async (conn: Kysely<Tables>, tenant: string, subject: string, purpose?: string) => {
    let q = conn.selectFrom("event").selectAll().where("tenant", "=", tenant).where("subject", "=", subject)
    if (purpose !== undefined) q = q.where("purpose", "=", purpose)
    return (await q.orderBy("row_id").execute()).map(eventOf)
  }

  /** Rewrites outbox rows' intents to the pseudonym, as core scrubs them (subject, aliases, state snapshot). */
  const scrubOutbox = async (
    conn: Kysely<Tables>,
    rows: ReadonlyArray<{ id: number | string | bigint; intent: string }>,
    pseudonym: string,
  ) => {
    for (const row of rows) {
      await conn
        .updateTable("outbox")
        .set({ subject: pseudonym, intent: intentJson(Intent.scrub(intentOf(row.intent), pseudonym)) })
        .where("id", "=", num(row.id))
        .execute()
    }
  }

  /** Locks the subject's row (PostgreSQL, MySQL), inserting it first when missing; true when it may have been created now. */
  const lockSubject = async (conn: Kysely<Tables>, tenant: string, subject: string): Promise<boolean> => {
    if (dialect === "sqlite") return false
    const key = { tenant, subject }
    if ((await run(conn, sqlOf.lock, key)).rows.length > 0) return false
    // MySQL: ON DUPLICATE KEY UPDATE takes the row's exclusive lock where INSERT IGNORE would take a shared one (and deadlock on upgrade).
    await run(conn, sqlOf.insertLock, { ...key, created_at: Date.now() })
    await run(conn, sqlOf.lock, key)
    return true
  }

  const makeTransaction = (
    conn: Kysely<Tables>,
    tenant: string,
    subject: string,
    written: () => void,
    notify: () => void,
  ): ConsentStore.SubjectTransaction => {
    let known: State.SubjectState | null | undefined
    const step = <A>(doing: string, work: () => Promise<A>) => attempt(doing, work)
    const write = <A>(doing: string, work: () => Promise<A>) =>
      attempt(doing, async () => {
        written()
        return work()
      })

    return {
      state: step("read the state", async () => {
        known = await readState(conn, tenant, subject)
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
          await run(conn, sqlOf.insertEvents(events.length), {}, events.map(eventRow))
        }),

      saveState: (next) =>
        write("save the state", async () => {
          const before = known !== undefined ? known : await readState(conn, tenant, subject)
          await run(conn, sqlOf.saveSubject, {
            tenant,
            subject,
            seq: next.seq,
            head: next.head,
            jurisdiction: next.jurisdiction,
            age: next.age,
            created_at: Date.now(),
          })
          // Only purposes that changed are written: a command usually touches one or two.
          const inserts: Array<ReturnType<typeof stateRow>> = []
          for (const [purpose, p] of next.purposes) {
            const old = before?.purposes.get(purpose)
            if (!old) inserts.push(stateRow(tenant, subject, p))
            else if (!samePurposeState(old, p))
              await run(conn, sqlOf.updateState, stateRow(tenant, subject, p))
          }
          if (inserts.length > 0) await run(conn, sqlOf.insertStates(inserts.length), {}, inserts)
          for (const purpose of before?.purposes.keys() ?? []) {
            if (!next.purposes.has(purpose)) await run(conn, sqlOf.deleteState, { tenant, subject, purpose })
          }
          known = next
        }),

      enqueue: (deliveries) =>
        write("enqueue intents", async () => {
          if (deliveries.length === 0) return
          const rows = deliveries.map((d) => ({
            tenant: d.intent.tenant,
            subject: d.intent.subject,
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
          await run(conn, sqlOf.insertOutbox(rows.length), {}, rows)
          notify()
        }),

      saveCommand: (command) =>
        write("keep the idempotency key", async () => {
          await run(conn, sqlOf.saveCommand, {
            tenant,
            key: command.key,
            subject: command.subject,
            command_id: command.commandId,
            recorded_at: command.recordedAt.getTime(),
            event_ids: JSON.stringify(command.eventIds),
            receipt: command.receipt === null ? null : JSON.stringify(command.receipt),
          })
        }),

      addAlias: (alias) =>
        write("link the alias", async () => {
          const insert = conn
            .insertInto("alias")
            .values({ tenant, kind: alias.kind, value: alias.value, subject })
          await (dialect === "mysql"
            ? insert.onDuplicateKeyUpdate({ subject })
            : insert.onConflict((oc) => oc.columns(["tenant", "kind", "value"]).doUpdateSet({ subject }))
          ).execute()
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
          await conn.deleteFrom("event").where("tenant", "=", tenant).where("subject", "=", subject).execute()
          if (erased.length > 0) await conn.insertInto("event").values(erased.map(eventRow)).execute()
          await conn.deleteFrom("state").where("tenant", "=", tenant).where("subject", "=", subject).execute()
          await conn.deleteFrom("alias").where("tenant", "=", tenant).where("subject", "=", subject).execute()
          await conn
            .deleteFrom("command")
            .where("tenant", "=", tenant)
            .where("subject", "=", subject)
            .execute()
          await conn
            .deleteFrom("subject")
            .where("tenant", "=", tenant)
            .where("subject", "=", subject)
            .execute()
          const done = await conn
            .selectFrom("outbox")
            .select(["id", "intent"])
            .where("tenant", "=", tenant)
            .where("subject", "=", subject)
            .where("status", "!=", "pending")
            .execute()
          await scrubOutbox(conn, done, request.pseudonym)
          await conn
            .insertInto("erasure")
            .values({
              tenant,
              id: request.id,
              pseudonym: request.pseudonym,
              requested_at: request.requestedAt.getTime(),
              requested_by: request.requestedBy,
              intent_id: request.intentId,
            })
            .execute()
          known = null
        }),
    }
  }

  /** One try of a subject transaction on its own connection. */
  const subjectTransaction = <A, E>(
    tenant: string,
    subject: string,
    body: (tx: ConsentStore.SubjectTransaction) => Effect.Effect<A, E>,
  ): Effect.Effect<A, E | StoreError> => {
    let wrote = false
    let notify = false
    return Effect.acquireUseRelease(
      attempt("begin a transaction", async () => {
        const held = await holdConnection(db)
        try {
          await begin(held.conn, dialect)
        } catch (error) {
          held.release()
          throw error
        }
        return held
      }),
      (held) =>
        Effect.gen(function* () {
          const created = yield* attempt("lock the subject", () => lockSubject(held.conn, tenant, subject))
          const tx = makeTransaction(
            held.conn,
            tenant,
            subject,
            () => {
              wrote = true
            },
            () => {
              notify = true
            },
          )
          const result = yield* body(tx)
          if (!wrote && created) {
            // The row was only a lock: leave no trace of a transaction that wrote nothing.
            yield* attempt("release the subject", () =>
              held.conn
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
                .execute(),
            )
          }
          if (notify && listener)
            yield* attempt("notify dispatchers", () =>
              sql`select pg_notify(${channel}, '')`.execute(held.conn),
            )
          return result
        }),
      (held, exit) =>
        Effect.ensuring(
          Exit.isSuccess(exit)
            ? attempt("commit", async () => {
                try {
                  await commit(held.conn)
                } catch (error) {
                  await rollback(held.conn)
                  throw error
                }
              })
            : Effect.promise(() => rollback(held.conn)),
          Effect.sync(() => held.release()),
        ),
    )
  }

  /**
   * A subject transaction inside a batch: it runs on the batch's connection beside other
   * subjects' (one at a time per subject). Its failure fails the whole batch, so no savepoint is
   * needed and subjects need not wait for each other's hashing.
   */
  const batchedSubjectTransaction = <A, E>(
    batch: Batch,
    tenant: string,
    subject: string,
    body: (tx: ConsentStore.SubjectTransaction) => Effect.Effect<A, E>,
  ): Effect.Effect<A, E | StoreError> => {
    const key = `${tenant}\u0000${subject}`
    let lock = batch.locks.get(key)
    if (!lock) {
      lock = Semaphore.makeUnsafe(1)
      batch.locks.set(key, lock)
    }
    return lock.withPermits(1)(
      Effect.suspend((): Effect.Effect<A, E | StoreError> => {
        if (batch.failure) return Effect.fail(fail(batch.failure.error, "continue a failed batch"))
        return body(
          makeTransaction(
            batch.conn,
            tenant,
            subject,
            () => undefined,
            () => undefined,
          ),
        )
      }).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (Exit.isFailure(exit) && !batch.failure) batch.failure = { error: Cause.squash(exit.cause) }
          }),
        ),
      ),
    )
  }

  const withSubject: ConsentStore.ConsentStoreShape["withSubject"] = (tenant, subject, body) =>
    CurrentBatch.use((batch) => {
      if (batch && batch.owner === identity) return batchedSubjectTransaction(batch, tenant, subject, body)
      // A lost race for the subject (a serialization failure, a deadlock) is tried again after a jittered backoff.
      return subjectTransaction(tenant, subject, body).pipe(
        Effect.retry({
          schedule: conflictBackoff,
          times: MAX_ATTEMPTS - 1,
          while: (error: unknown) => typeof error === "object" && error !== null && conflicts.has(error),
        }),
      )
    })

  const batch: KyselyConsentStore["batch"] = (effect) =>
    dialect !== "sqlite"
      ? effect
      : Effect.acquireUseRelease(
          attempt("begin a batch", async () => {
            const held = await holdConnection(db)
            try {
              await begin(held.conn, dialect)
            } catch (error) {
              held.release()
              throw error
            }
            return held
          }),
          (held) => {
            const current: Batch = { owner: identity, conn: held.conn, locks: new Map(), failure: null }
            return Effect.provideService(effect, CurrentBatch, current).pipe(
              // A subject transaction failed even if the caller carried on: nothing of the batch may stay.
              Effect.flatMap((value) =>
                current.failure
                  ? Effect.fail(fail(current.failure.error, "finish the batch"))
                  : Effect.succeed(value),
              ),
            )
          },
          (held, exit) =>
            Effect.ensuring(
              Exit.isSuccess(exit)
                ? attempt("commit a batch", async () => {
                    try {
                      await commit(held.conn)
                    } catch (error) {
                      await rollback(held.conn)
                      throw error
                    }
                  })
                : Effect.promise(() => rollback(held.conn)),
              Effect.sync(() => held.release()),
            ),
        )

  const claimRows = async (conn: Kysely<Tables>, options: ConsentStore.ClaimOptions) => {
    const now = options.now.getTime()
    const claimable = () =>
      conn
        .selectFrom("outbox as o")
        .select("o.id")
        .where("o.status", "=", "pending")
        .where("o.adapter", "in", options.adapters)
        .where("o.available_at", "<=", now)
        .where("o.lease_until", "<=", now)
        // Per-subject order: only the lowest pending row of a (tenant, subject, adapter) lane.
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("outbox as e")
                .select("e.id")
                .whereRef("e.tenant", "=", "o.tenant")
                .whereRef("e.subject", "=", "o.subject")
                .whereRef("e.adapter", "=", "o.adapter")
                .where("e.status", "=", "pending")
                .whereRef("e.id", "<", "o.id"),
            ),
          ),
        )
        .orderBy("o.id")
        .limit(options.limit)
    const lease = { lease_owner: options.owner, lease_until: now + options.leaseMs }
    if (dialect === "postgres") {
      return conn
        .with("picked", () => claimable().forUpdate().skipLocked())
        .updateTable("outbox")
        .set((eb) => ({ ...lease, attempts: eb("outbox.attempts", "+", 1) }))
        .from("picked")
        .whereRef("outbox.id", "=", "picked.id")
        .returningAll("outbox")
        .execute()
    }
    if (dialect === "sqlite") {
      return conn
        .updateTable("outbox")
        .set((eb) => ({ ...lease, attempts: eb("attempts", "+", 1) }))
        .where("id", "in", claimable())
        .returningAll()
        .execute()
    }
    // MySQL cannot update a table it selects from in a subquery, and its locking clause must not
    // reach the order check: pick candidates, then lock those still free, skipping locked ones.
    return transaction(conn, dialect, async (tx) => {
      const candidates = (await claimable().execute()).map((r) => num(r.id))
      if (candidates.length === 0) return []
      const locked = (
        await tx
          .selectFrom("outbox")
          .select("id")
          .where("id", "in", candidates)
          .where("status", "=", "pending")
          .where("lease_until", "<=", now)
          .where("available_at", "<=", now)
          .forUpdate()
          .skipLocked()
          .execute()
      ).map((r) => num(r.id))
      if (locked.length === 0) return []
      await tx
        .updateTable("outbox")
        .set((eb) => ({ ...lease, attempts: eb("attempts", "+", 1) }))
        .where("id", "in", locked)
        .execute()
      return tx.selectFrom("outbox").selectAll().where("id", "in", locked).execute()
    })
  }

  const store: KyselyConsentStore = {
    capabilities,
    dialect,
    tablePrefix: prefix,
    db,

    withSubject,
    batch,

    state: (tenant, subject) => query("read the state", (conn) => readState(conn, tenant, subject)),

    history: (tenant, subject, options) =>
      query("read the ledger", (conn) => readEvents(conn, tenant, subject, options?.purpose)),

    stateAt: (tenant, subject, at) =>
      query("read the state at an instant", async (conn) => {
        // The ledger up to the instant, folded by core's own rule (State.at): a guardian's grant
        // carries through later grants, which only a fold in event order gets right.
        const rows = await conn
          .selectFrom("event")
          .selectAll()
          .where("tenant", "=", tenant)
          .where("subject", "=", subject)
          .where("occurred_at", "<=", at.getTime())
          .orderBy("row_id")
          .execute()
        if (rows.length === 0) return null
        const state = State.fold(tenant, subject, rows.map(eventOf))
        return state.seq === 0 ? null : state
      }),

    resolveAlias: (tenant, alias) =>
      query("resolve an alias", async (conn) => {
        const row = await conn
          .selectFrom("alias")
          .select("subject")
          .where("tenant", "=", tenant)
          .where("kind", "=", alias.kind)
          .where("value", "=", alias.value)
          .executeTakeFirst()
        return row?.subject ?? null
      }),

    receipts: (tenant, subject) =>
      query("read receipts", async (conn) =>
        (
          await conn
            .selectFrom("command")
            .selectAll()
            .where("tenant", "=", tenant)
            .where("subject", "=", subject)
            .orderBy("id")
            .execute()
        ).map(commandOf),
      ),

    audiencePage: ({ tenant, purposes, after, limit }) =>
      query("read an audience page", async (conn) => {
        if (purposes.length === 0 || limit <= 0) return { states: [], next: null }
        // One ordered index range per purpose, merged: each branch reads at most limit + 1 rows.
        const branch = (purpose: string) => {
          let q = conn
            .selectFrom("state")
            .select("subject")
            .where("tenant", "=", tenant)
            .where("purpose", "=", purpose)
            .where("status", "=", "granted")
          if (after !== null) q = q.where("subject", ">", after)
          return q.orderBy("subject").limit(limit + 1)
        }
        let merged = conn.selectFrom(branch(purposes[0]!).as("p0")).select("p0.subject")
        for (let i = 1; i < purposes.length; i++) {
          merged = merged.union(
            conn.selectFrom(branch(purposes[i]!).as(`p${i}`)).select(`p${i}.subject` as "p0.subject"),
          )
        }
        const ids = (
          await conn
            .selectFrom(merged.as("granted"))
            .select("granted.subject")
            .orderBy("granted.subject")
            .limit(limit + 1)
            .execute()
        ).map((r) => r.subject)
        const page = ids.slice(0, limit)
        if (page.length === 0) return { states: [], next: null }
        const subjects = await conn
          .selectFrom("subject")
          .select(["tenant", "subject", "seq", "head", "jurisdiction", "age"])
          .where("tenant", "=", tenant)
          .where("subject", "in", page)
          .execute()
        const rows = await conn
          .selectFrom("state")
          .selectAll()
          .where("tenant", "=", tenant)
          .where("subject", "in", page)
          .execute()
        const bySubject = new Map<string, Array<(typeof rows)[number]>>()
        for (const r of rows) {
          const list = bySubject.get(r.subject)
          if (list) list.push(r)
          else bySubject.set(r.subject, [r])
        }
        const subjectRows = new Map(subjects.map((s) => [s.subject, s]))
        const states: Array<State.SubjectState> = []
        for (const id of page) {
          const state = subjectStateOf(subjectRows.get(id), bySubject.get(id) ?? [])
          if (state) states.push(state)
        }
        return { states, next: ids.length > limit ? page[page.length - 1]! : null }
      }),

    rates: ({ tenant, from, to }) =>
      query("count consent rates", async (conn) => {
        const day =
          dialect === "mysql" ? sql<number>`occurred_at div 86400000` : sql<number>`occurred_at / 86400000`
        const rows = await conn
          .selectFrom("event")
          .select([
            "purpose",
            "notice_version",
            "action",
            day.as("day"),
            (eb) => eb.fn.countAll().as("count"),
          ])
          .where("tenant", "=", tenant)
          .where("occurred_at", ">=", from.getTime())
          .where("occurred_at", "<", to.getTime())
          .groupBy(["purpose", "notice_version", "action", day])
          .execute()
        return rows
          .map(
            (r): ConsentStore.RateRow => ({
              purpose: r.purpose,
              noticeVersion: num(r.notice_version),
              day: new Date(num(r.day) * 86_400_000).toISOString().slice(0, 10),
              action: r.action as Ledger.Action,
              count: num(r.count as number),
            }),
          )
          .sort((a, b) =>
            a.day !== b.day
              ? a.day < b.day
                ? -1
                : 1
              : a.purpose !== b.purpose
                ? a.purpose < b.purpose
                  ? -1
                  : 1
                : a.noticeVersion - b.noticeVersion ||
                  (a.action < b.action ? -1 : a.action > b.action ? 1 : 0),
          )
      }),

    claim: (options) =>
      query("claim outbox rows", async (conn) => {
        if (options.adapters.length === 0 || options.limit <= 0) return []
        const rows = await claimRows(conn, options)
        return rows.map(deliveryOf).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      }),

    complete: (id, owner, now) =>
      inTransaction("complete a delivery", async (conn) => {
        const key = parseOutboxId(id)
        if (key === null) return
        const updated = await conn
          .updateTable("outbox")
          .set({ status: "delivered", delivered_at: now.getTime(), lease_owner: null })
          .where("id", "=", key)
          .where("lease_owner", "=", owner)
          .where("status", "=", "pending")
          .executeTakeFirst()
        if (Number(updated.numUpdatedRows) === 0) return
        const row = await conn
          .selectFrom("outbox")
          .select(["kind", "intent", "adapter", "tenant", "subject"])
          .where("id", "=", key)
          .executeTakeFirst()
        if (row?.kind !== "subject.erase") return
        const intent = intentOf(row.intent)
        if (!intent.pseudonym) return
        // The adapter erased the subject: its rows for that adapter need not name the subject any more.
        const rows = await conn
          .selectFrom("outbox")
          .select(["id", "intent"])
          .where("tenant", "=", row.tenant)
          .where("subject", "=", row.subject)
          .where("adapter", "=", row.adapter)
          .where("id", "<=", key)
          .execute()
        await scrubOutbox(conn, rows, intent.pseudonym)
      }),

    fail: (id, owner, { error, retryAt }) =>
      query("record a failed delivery", async (conn) => {
        const key = parseOutboxId(id)
        if (key === null) return
        await conn
          .updateTable("outbox")
          .set(
            retryAt === null
              ? { last_error: error, lease_owner: null, lease_until: 0, status: "dead" }
              : { last_error: error, lease_owner: null, lease_until: 0, available_at: retryAt.getTime() },
          )
          .where("id", "=", key)
          .where("lease_owner", "=", owner)
          .where("status", "=", "pending")
          .execute()
      }),

    deadLetters: ({ tenant, adapter, limit }) =>
      query("list dead letters", async (conn) => {
        let q = conn.selectFrom("outbox").selectAll().where("status", "=", "dead")
        if (tenant) q = q.where("tenant", "=", tenant)
        if (adapter) q = q.where("adapter", "=", adapter)
        return (await q.orderBy("id").limit(limit).execute()).map(deliveryOf)
      }),

    replay: (ids, now) =>
      query("replay dead letters", async (conn) => {
        const keys = ids.map(parseOutboxId).filter((k): k is number => k !== null)
        if (keys.length === 0) return 0
        const result = await conn
          .updateTable("outbox")
          .set({ status: "pending", attempts: 0, available_at: now.getTime(), lease_until: 0 })
          .where("id", "in", keys)
          .where("status", "=", "dead")
          .executeTakeFirst()
        if (listener) await sql`select pg_notify(${channel}, '')`.execute(conn)
        return Number(result.numUpdatedRows)
      }),

    deliveriesOf: (intentId) =>
      query("read deliveries", async (conn) =>
        (
          await conn
            .selectFrom("outbox")
            .selectAll()
            .where("intent_id", "=", intentId)
            .orderBy("id")
            .execute()
        ).map(deliveryOf),
      ),

    outboxStats: (tenant) =>
      query("read outbox stats", async (conn) => {
        let q = conn
          .selectFrom("outbox")
          .select([
            "adapter",
            "status",
            (eb) => eb.fn.countAll().as("count"),
            (eb) => eb.fn.min("created_at").as("oldest"),
          ])
          .groupBy(["adapter", "status"])
        if (tenant) q = q.where("tenant", "=", tenant)
        const rows = await q.orderBy("adapter").execute()
        const byAdapter = new Map<
          string,
          { adapter: string; pending: number; delivered: number; dead: number }
        >()
        const totals = { pending: 0, delivered: 0, dead: 0 }
        let oldest: number | null = null
        for (const r of rows) {
          const status = r.status as ConsentStore.DeliveryStatus
          const count = num(r.count as number)
          const entry = byAdapter.get(r.adapter) ?? { adapter: r.adapter, pending: 0, delivered: 0, dead: 0 }
          entry[status] += count
          totals[status] += count
          byAdapter.set(r.adapter, entry)
          if (status === "pending" && r.oldest !== null) {
            const t = num(r.oldest as number)
            if (oldest === null || t < oldest) oldest = t
          }
        }
        return { ...totals, oldestPendingAt: dateOrNull(oldest), byAdapter: [...byAdapter.values()] }
      }),

    erasure: (tenant, id) =>
      query("read an erasure request", async (conn) => {
        const row = await conn
          .selectFrom("erasure")
          .selectAll()
          .where("tenant", "=", tenant)
          .where("id", "=", id)
          .executeTakeFirst()
        return row ? erasureOf(row) : null
      }),

    erasedHistory: (tenant, pseudonym) =>
      query("read an erased ledger", (conn) => readEvents(conn, tenant, pseudonym)),

    ...(listener
      ? {
          waitForWork: (timeoutMs: number) => Effect.promise((signal) => listener.wait(timeoutMs, signal)),
          notifyWork: query("notify dispatchers", async (conn) => {
            await sql`select pg_notify(${channel}, '')`.execute(conn)
          }),
        }
      : {}),

    subjects: ({ tenant, after, limit }) =>
      query("list subjects", async (conn) => {
        let q = conn
          .selectFrom("subject")
          .select("subject")
          .where("tenant", "=", tenant)
          .where("seq", "is not", null)
        if (after !== null) q = q.where("subject", ">", after)
        const rows = await q
          .orderBy("subject")
          .limit(limit + 1)
          .execute()
        const subjects = rows.slice(0, limit).map((r) => r.subject)
        return { subjects, next: rows.length > limit ? subjects[subjects.length - 1]! : null }
      }),

    rowsOf: (tenant) =>
      query("count rows", async (conn) => {
        let total = 0
        for (const table of TABLES) {
          const row = await conn
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as("n"))
            .where("tenant", "=", tenant)
            .executeTakeFirstOrThrow()
          total += num(row.n as number)
        }
        return total
      }),

    close: async () => {
      await listener?.close()
    },
  }
  return store
}
