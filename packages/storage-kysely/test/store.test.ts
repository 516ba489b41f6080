import {
  type ConsentStore,
  ConsentKit,
  createConsentKit,
  type Intent,
  type Ledger,
  StoreError,
  Tracker,
} from "@consentkit/core"
import { conformancePolicy } from "@consentkit/core/testing"
import { layer, openDatabase, openStore, parseDatabaseUrl } from "@consentkit/storage-kysely"
import Database from "better-sqlite3"
import pg from "pg"
import { Data, Effect, Exit, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { toStoreError } from "../src/internal/errors.js"
import { mysql, postgres, sqlite } from "../src/store/dialects/index.js"
import { dialects, tempSqlite } from "./dialects.js"
import { freshTenant, policy } from "./fixtures/policy.js"
import { rowCount, rows } from "./rows.js"

class Refused extends Data.TaggedError("Refused")<{ readonly why: string }> {}

const intentFor = (
  tenant: string,
  subject: string,
  kind: Intent.Kind,
  extra: Partial<Intent.Intent> = {},
): Intent.Intent => ({
  id: crypto.randomUUID(),
  tenant,
  subject,
  kind,
  seq: 1,
  createdAt: new Date(Date.now() - 60_000),
  purpose: "analytics",
  reason: null,
  categories: ["analytics"],
  channels: [],
  changes: [],
  aliases: [],
  erasureId: null,
  pseudonym: null,
  snapshot: null,
  ...extra,
})

const enqueue = (
  store: ConsentStore.ConsentStoreShape,
  deliveries: ReadonlyArray<ConsentStore.NewDelivery>,
) =>
  Effect.runPromise(
    store.withSubject(deliveries[0]!.intent.tenant, deliveries[0]!.intent.subject, (tx) =>
      tx.enqueue(deliveries),
    ),
  )

describe.each(dialects())("kysely store ($name)", (dialect) => {
  let opened: Awaited<ReturnType<typeof openStore>>
  beforeAll(async () => {
    opened = await openStore(dialect.url())
  }, 60_000)
  afterAll(async () => {
    await opened?.close()
  })

  it("migrates idempotently, and a second table prefix keeps its own tables", async () => {
    const { migrate } = await import("@consentkit/storage-kysely")
    expect(await migrate(opened.database.db)).toEqual({ applied: [] })
    const other = await openStore(dialect.url() === ":memory:" ? ":memory:" : dialect.url(), {
      tablePrefix: "ck_alt_",
    })
    try {
      const tenant = freshTenant("prefix")
      const kit = createConsentKit({
        policy,
        store: other.store,
        secret: "s-0123456789abcdef0123456789abcdef",
        dispatcher: { autoStart: false },
      })
      await kit.record({
        tenant,
        subject: "a",
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
      await kit.close()
      expect(await rowCount(other.store.db, tenant)).toBeGreaterThan(0)
      if (dialect.name === "postgres" || dialect.name === "mysql") {
        // Same database, other tables: the default prefix sees nothing of it.
        expect(await rowCount(opened.store.db, tenant)).toBe(0)
      }
    } finally {
      await other.close()
    }
  })

  it("rolls back a failed subject transaction without a trace, keeping its typed failure", async () => {
    const { store } = opened
    const tenant = freshTenant("rollback")
    const exit = await Effect.runPromiseExit(
      store.withSubject(tenant, "s1", (tx) =>
        Effect.gen(function* () {
          yield* tx.addAlias({ kind: "email", value: "s1@example.com" })
          yield* tx.enqueue([{ intent: intentFor(tenant, "s1", "tracking.stop"), adapter: "t" }])
          yield* tx.saveCommand({
            tenant,
            key: "k",
            subject: "s1",
            commandId: "c",
            recordedAt: new Date(),
            eventIds: [],
            receipt: null,
          })
          return yield* Effect.fail(new Refused({ why: "changed my mind" }))
        }),
      ),
    )
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit)) {
      const error = exit.cause.reasons.find((r) => r._tag === "Fail") as { error: unknown } | undefined
      expect(error?.error).toBeInstanceOf(Refused)
    }
    expect(await rowCount(store.db, tenant)).toBe(0)
    // A transaction that only reads leaves nothing either (not even the lock row).
    expect(await Effect.runPromise(store.withSubject(tenant, "s2", (tx) => tx.aliases))).toEqual([])
    expect(await rows(store.db, "subject", { tenant })).toEqual([])
    expect(await rowCount(store.db, tenant)).toBe(0)
  })

  it("gives outbox ids that sort as strings in the order rows were enqueued", async () => {
    const { store } = opened
    const tenant = freshTenant("ids")
    // An adapter of this run's own: a server database keeps the rows of earlier runs.
    const adapter = `ids-${tenant}`
    for (let i = 0; i < 12; i++) {
      await enqueue(store, [{ intent: intentFor(tenant, `s${i}`, "tracking.stop"), adapter }])
    }
    const rows = await Effect.runPromise(
      store.claim({ owner: "o", limit: 100, leaseMs: 60_000, now: new Date(), adapters: [adapter] }),
    )
    const mine = rows.filter((r) => r.intent.tenant === tenant)
    expect(mine).toHaveLength(12)
    expect(mine.map((r) => r.intent.subject)).toEqual(Array.from({ length: 12 }, (_, i) => `s${i}`))
    expect([...mine.map((r) => r.id)].sort()).toEqual(mine.map((r) => r.id))
    expect(mine.every((r) => r.attempts === 1 && r.status === "pending")).toBe(true)
  })

  it("lets several dispatchers claim at once without sharing a row or breaking per-subject order", async () => {
    const { store } = opened
    const tenant = freshTenant("claims")
    const adapter = `claims-${tenant}`
    for (let s = 0; s < 12; s++) {
      for (let n = 0; n < 3; n++)
        await enqueue(store, [
          { intent: intentFor(tenant, `s${s}`, n % 2 ? "tracking.resume" : "tracking.stop"), adapter },
        ])
    }
    const delivered: Array<{ id: string; subject: string; by: string }> = []
    const dispatcher = async (owner: string) => {
      for (let idle = 0; idle < 3; ) {
        const rows = await Effect.runPromise(
          store.claim({ owner, limit: 4, leaseMs: 60_000, now: new Date(), adapters: [adapter] }),
        )
        if (rows.length === 0) {
          idle++
          await new Promise((r) => setTimeout(r, 5))
          continue
        }
        idle = 0
        for (const row of rows) {
          delivered.push({ id: row.id, subject: row.intent.subject, by: owner })
          await Effect.runPromise(store.complete(row.id, owner, new Date()))
        }
      }
    }
    await Promise.all(["a", "b", "c", "d"].map(dispatcher))
    expect(delivered).toHaveLength(36)
    expect(new Set(delivered.map((d) => d.id)).size).toBe(36)
    for (let s = 0; s < 12; s++) {
      const ids = delivered.filter((d) => d.subject === `s${s}`).map((d) => d.id)
      expect(ids).toEqual([...ids].sort())
    }
    expect(await Effect.runPromise(store.outboxStats(tenant))).toMatchObject({
      pending: 0,
      delivered: 36,
      dead: 0,
      oldestPendingAt: null,
    })
  })

  it("scrubs an adapter's rows once its erase delivery completes, and only that adapter's", async () => {
    const tenant = freshTenant("scrub")
    const tracker = Tracker.make({
      name: `scrub-a-${tenant}`,
      stop: async () => undefined,
      resume: async () => undefined,
      erase: async () => undefined,
    })
    const other = Tracker.make({
      name: `scrub-b-${tenant}`,
      stop: async () => undefined,
      resume: async () => undefined,
      erase: async () => undefined,
    })
    const kit = createConsentKit({
      policy,
      store: opened.store,
      secret: "s-0123456789abcdef0123456789abcdef",
      trackers: [tracker, other],
      dispatcher: { autoStart: false },
    })
    try {
      await kit.record({
        tenant,
        subject: "bob@example.com",
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
      const receipt = await kit.erase({ tenant, subject: "bob@example.com" })
      const claimA = await Effect.runPromise(
        opened.store.claim({
          owner: "a",
          limit: 10,
          leaseMs: 60_000,
          now: new Date(),
          adapters: [tracker.name],
        }),
      )
      const mine = claimA.filter((r) => r.intent.tenant === tenant)
      expect(mine.map((r) => r.intent.kind)).toEqual(["tracking.resume"])
      await Effect.runPromise(opened.store.complete(mine[0]!.id, "a", new Date()))
      const [erase] = (
        await Effect.runPromise(
          opened.store.claim({
            owner: "a",
            limit: 10,
            leaseMs: 60_000,
            now: new Date(),
            adapters: [tracker.name],
          }),
        )
      ).filter((r) => r.intent.tenant === tenant)
      expect(erase?.intent).toMatchObject({ kind: "subject.erase", subject: "bob@example.com" })
      await Effect.runPromise(opened.store.complete(erase!.id, "a", new Date()))
      const rows = await Effect.runPromise(opened.store.deliveriesOf(receipt.intentId))
      expect(rows.find((r) => r.adapter === tracker.name)?.intent.subject).toBe(receipt.pseudonym)
      // Adapter b has not erased yet: its rows still name the subject it must erase.
      expect(rows.find((r) => r.adapter === other.name)?.intent.subject).toBe("bob@example.com")
    } finally {
      await kit.close()
    }
  })

  it("turns a broken constraint into a non-retryable StoreError", async () => {
    const tenant = freshTenant("constraint")
    const request = {
      id: "er-1",
      tenant,
      pseudonym: "erased:x",
      requestedAt: new Date(),
      requestedBy: null,
      intentId: "i-1",
    }
    await Effect.runPromise(opened.store.withSubject(tenant, "s", (tx) => tx.erase(request, [])))
    const exit = await Effect.runPromiseExit(
      opened.store.withSubject(tenant, "s", (tx) =>
        tx.erase(request, [] as ReadonlyArray<Ledger.ConsentEvent>),
      ),
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const failure = Exit.isFailure(exit)
      ? (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: StoreError }).error
      : undefined
    expect(failure).toBeInstanceOf(StoreError)
    expect(failure).toMatchObject({ code: "CONSTRAINT", isRetryable: false })
  })

  it("declares what it can do", () => {
    const caps = opened.store.capabilities
    expect(caps.name).toBe(dialect.name)
    expect(caps.supportsSkipLocked).toBe(dialect.name !== "sqlite")
    expect(caps.supportsListenNotify).toBe(dialect.name === "postgres")
    expect(typeof opened.store.waitForWork).toBe(dialect.name === "postgres" ? "function" : "undefined")
    expect(caps.multiProcess).toBe(dialect.name !== "pglite")
  })
})

describe.each(dialects().filter((d) => d.name === "postgres"))("PostgreSQL server ($name)", (dialect) => {
  it("survives its connection being killed mid-transaction: a retryable StoreError, nothing written", async () => {
    const name = `ck-kill-${Math.random().toString(36).slice(2, 10)}`
    const url = dialect.url()
    const victim = await openStore(`${url}${url.includes("?") ? "&" : "?"}application_name=${name}`)
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    const tenant = freshTenant("kill")
    try {
      let resume!: () => void
      const paused = new Promise<void>((r) => {
        resume = r
      })
      const running = Effect.runPromiseExit(
        victim.store.withSubject(tenant, "s", (tx) =>
          Effect.gen(function* () {
            // Reading the aliases first takes the subject's row lock (PostgreSQL's two-round-trip
            // path buffers writes and holds no transaction open), so the pause is mid-transaction.
            yield* tx.aliases
            yield* tx.addAlias({ kind: "email", value: "s@example.com" })
            yield* Effect.promise(() => paused)
            return yield* tx.aliases
          }),
        ),
      )
      let killed = false
      for (let i = 0; i < 500 && !killed; i++) {
        const found = await admin.query(
          "select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1 and state = 'idle in transaction'",
          [name],
        )
        killed = found.rows.length > 0
        if (!killed) await new Promise((r) => setTimeout(r, 20))
      }
      expect(killed).toBe(true)
      // The dead connection reports its error while the transaction waits; the process must not crash.
      await new Promise((r) => setTimeout(r, 200))
      resume()
      const exit = await running
      const failure = Exit.isFailure(exit)
        ? (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: StoreError }).error
        : undefined
      expect(failure).toMatchObject({ _tag: "StoreError", code: "UNAVAILABLE", isRetryable: true })
      expect(await rowCount(victim.store.db, tenant)).toBe(0)
      // The pool drops the dead connection: the retry succeeds.
      expect(
        await Effect.runPromise(
          victim.store.withSubject(tenant, "s", (tx) =>
            tx.addAlias({ kind: "email", value: "s@example.com" }),
          ),
        ),
      ).toBeUndefined()
      expect(
        await Effect.runPromise(victim.store.resolveAlias(tenant, { kind: "email", value: "s@example.com" })),
      ).toBe("s")
    } finally {
      await admin.end()
      await victim.close()
    }
  })

  it("wakes a waiting dispatcher through LISTEN/NOTIFY when work is enqueued in another store", async () => {
    const sender = await openStore(dialect.url())
    const waiter = await openStore(dialect.url())
    try {
      // The first wait opens the LISTEN connection.
      await Effect.runPromise(waiter.store.waitForWork!(100))
      // Long enough that only a notification can end the wait within the test's timeout.
      const woken = Effect.runPromise(waiter.store.waitForWork!(10 * 60_000)).then(() => "woken")
      await new Promise((r) => setTimeout(r, 200))
      await enqueue(sender.store, [
        { intent: intentFor(freshTenant("notify"), "s", "tracking.stop"), adapter: "notify" },
      ])
      expect(await woken).toBe("woken")
    } finally {
      await waiter.close()
      await sender.close()
    }
  })

  it("a recorded command wakes a waiting dispatcher and notifies the change feed, from one statement", async () => {
    const sender = await openStore(dialect.url())
    const waiter = await openStore(dialect.url())
    const kit = createConsentKit({
      policy,
      store: sender.store,
      secret: "notify-secret-0123456789abcdef0123456789abcdef",
      adapters: [
        Tracker.make({
          name: "notify-tracker",
          categories: ["analytics"],
          stop: async () => undefined,
          resume: async () => undefined,
        }),
      ],
      feed: false,
      dispatcher: { autoStart: false },
    })
    const tenant = freshTenant("notify-record")
    try {
      await Effect.runPromise(waiter.store.waitForWork!(100))
      const woken = Effect.runPromise(waiter.store.waitForWork!(10 * 60_000)).then(() => "woken")
      const notified = Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const subscription = yield* waiter.store.changes!.subscribe!
            for (;;) {
              const entries = yield* subscription.take(60_000)
              const mine = entries.find((e) => e.tenant === tenant)
              if (mine) return mine
            }
          }),
        ),
      )
      await new Promise((r) => setTimeout(r, 200))
      await kit.record({
        tenant,
        subject: "s",
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 1 }],
      })
      expect(await woken).toBe("woken")
      expect(await notified).toMatchObject({ tenant, subject: "s", seq: 1, kind: "write" })
      expect((await kit.outbox.stats(tenant)).pending).toBeGreaterThan(0)
    } finally {
      await kit.close()
      await waiter.close()
      await sender.close()
    }
  })
})

describe("SQLite specifics", () => {
  it("reports a busy database as a retryable conflict after retrying", async () => {
    const file = tempSqlite("busy")
    const { store, close } = await openStore(file, { busyTimeoutMs: 0 })
    const holder = new Database(file)
    try {
      holder.exec("begin immediate")
      const exit = await Effect.runPromiseExit(store.withSubject(freshTenant(), "s", (tx) => tx.aliases))
      const failure = Exit.isFailure(exit)
        ? (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: StoreError }).error
        : undefined
      expect(failure).toMatchObject({ _tag: "StoreError", code: "CONFLICT", isRetryable: true })
      holder.exec("rollback")
      expect(await Effect.runPromise(store.withSubject(freshTenant(), "s", (tx) => tx.aliases))).toEqual([])
    } finally {
      holder.close()
      await close()
    }
  })

  it("commits a batch all together, or nothing of it when one subject fails", async () => {
    const { store, close } = await openStore(tempSqlite("batch"))
    const kit = await Effect.runPromise(
      ConsentKit.make({ policy, secret: "s-0123456789abcdef0123456789abcdef" }).pipe(
        Effect.provideService((await import("@consentkit/core")).ConsentStore.ConsentStore, store),
      ),
    )
    const tenant = freshTenant("batch")
    const grant = (subject: string) =>
      kit.record({
        tenant,
        subject,
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
    try {
      await Effect.runPromise(store.batch(Effect.forEach(["a", "b", "c"], grant, { concurrency: 3 })))
      expect(await rowCount(store.db, tenant)).toBeGreaterThan(0)
      const before = await rowCount(store.db, tenant)
      // The store's own count (what operators see) agrees with the tables.
      expect(await Effect.runPromise(store.rowsOf(tenant))).toBe(before)
      const failing = store.batch(
        Effect.forEach(["d", "e"], grant, { concurrency: 2 }).pipe(
          Effect.andThen(store.withSubject(tenant, "f", () => Effect.fail(new Refused({ why: "no" })))),
          // Even a caller that swallows the failure does not get a half-committed batch.
          Effect.catch(() => Effect.void),
        ),
      )
      expect(Exit.isFailure(await Effect.runPromiseExit(failing))).toBe(true)
      expect(await rowCount(store.db, tenant)).toBe(before)
    } finally {
      await close()
    }
  })
})

describe("opening databases", () => {
  it("reads URLs and paths", () => {
    expect(parseDatabaseUrl(":memory:")).toEqual({ engine: "sqlite", location: ":memory:" })
    expect(parseDatabaseUrl("sqlite:./data/consent.db")).toEqual({
      engine: "sqlite",
      location: "./data/consent.db",
    })
    expect(parseDatabaseUrl("sqlite:///var/lib/consent.sqlite")).toEqual({
      engine: "sqlite",
      location: "/var/lib/consent.sqlite",
    })
    expect(parseDatabaseUrl("./consent.sqlite")).toEqual({ engine: "sqlite", location: "./consent.sqlite" })
    expect(parseDatabaseUrl("postgres://u@h:5432/db")).toEqual({
      engine: "postgres",
      location: "postgres://u@h:5432/db",
    })
    expect(parseDatabaseUrl("pglite://memory")).toEqual({ engine: "pglite", location: "memory" })
    expect(parseDatabaseUrl("pglite:./pgdata")).toEqual({ engine: "pglite", location: "./pgdata" })
    expect(parseDatabaseUrl("mysql://root@h/db")).toEqual({ engine: "mysql", location: "mysql://root@h/db" })
    expect(parseDatabaseUrl("mariadb://root@h/db")).toEqual({
      engine: "mysql",
      location: "mysql://root@h/db",
    })
    expect(() => parseDatabaseUrl("oracle://x")).toThrow(/cannot tell which database/)
  })

  it("maps driver failures to StoreError codes", () => {
    expect(toStoreError({ code: "40P01", message: "deadlock detected" }, postgres, "x")).toMatchObject({
      code: "CONFLICT",
      isRetryable: true,
    })
    expect(toStoreError({ code: "40001", message: "could not serialize" }, postgres, "x")).toMatchObject({
      code: "CONFLICT",
      isRetryable: true,
    })
    expect(toStoreError({ code: "57P01", message: "terminating connection" }, postgres, "x")).toMatchObject({
      code: "UNAVAILABLE",
      isRetryable: true,
    })
    expect(toStoreError({ code: "23505", message: "duplicate key" }, postgres, "x")).toMatchObject({
      code: "CONSTRAINT",
      isRetryable: false,
    })
    expect(toStoreError({ code: "ER_LOCK_DEADLOCK", message: "Deadlock" }, mysql, "x")).toMatchObject({
      code: "CONFLICT",
      isRetryable: true,
    })
    expect(toStoreError({ code: "PROTOCOL_CONNECTION_LOST", message: "lost" }, mysql, "x")).toMatchObject({
      code: "UNAVAILABLE",
      isRetryable: true,
    })
    expect(toStoreError({ code: "SQLITE_BUSY", message: "database is locked" }, sqlite, "x")).toMatchObject({
      code: "CONFLICT",
      isRetryable: true,
    })
    expect(toStoreError({ code: "SQLITE_CORRUPT", message: "malformed" }, sqlite, "x")).toMatchObject({
      code: "CORRUPT",
      isRetryable: false,
    })
    expect(toStoreError(new Error("Connection terminated unexpectedly"), postgres, "x")).toMatchObject({
      code: "UNAVAILABLE",
      isRetryable: true,
    })
    expect(
      toStoreError(new Error("Cannot use a pool after calling end on the pool"), postgres, "x"),
    ).toMatchObject({ code: "UNAVAILABLE", isRetryable: true })
    // MariaDB and MySQL report by errno; mysql2 marks a dropped connection fatal, its closed pool only by message.
    expect(toStoreError({ errno: 1213, message: "Deadlock found" }, mysql, "x")).toMatchObject({
      code: "CONFLICT",
      isRetryable: true,
    })
    expect(
      toStoreError({ errno: 1062, code: "ER_DUP_ENTRY", message: "Duplicate" }, mysql, "x"),
    ).toMatchObject({
      code: "CONSTRAINT",
      isRetryable: false,
    })
    expect(toStoreError({ fatal: true, message: "closed state" }, mysql, "x")).toMatchObject({
      code: "UNAVAILABLE",
      isRetryable: true,
    })
    expect(toStoreError(new Error("Pool is closed."), mysql, "x")).toMatchObject({
      code: "UNAVAILABLE",
      isRetryable: true,
    })
    expect(toStoreError({ code: "ECONNRESET", message: "socket hang up" }, sqlite, "x")).toMatchObject({
      code: "UNAVAILABLE",
      isRetryable: true,
    })
    // A message alone never classifies where the driver would have given a code.
    expect(toStoreError(new Error("connection lost"), sqlite, "x")).toMatchObject({ code: "UNKNOWN" })
    expect(toStoreError(new Error("something odd"), postgres, "x")).toMatchObject({
      code: "UNKNOWN",
      isRetryable: false,
    })
  })

  it("reports an unreachable server as a retryable StoreError", async () => {
    const database = await openDatabase("postgres://postgres@127.0.0.1:1/none")
    const { kyselyStore } = await import("@consentkit/storage-kysely")
    const store = kyselyStore({ db: database.db, dialect: "postgres" })
    try {
      const exit = await Effect.runPromiseExit(store.state("t", "s"))
      const failure = Exit.isFailure(exit)
        ? (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: StoreError }).error
        : undefined
      expect(failure).toMatchObject({ _tag: "StoreError", code: "UNAVAILABLE", isRetryable: true })
    } finally {
      await database.close()
    }
  })

  it("provides core's ConsentStore as a layer", async () => {
    const tenant = freshTenant("layer")
    const program = Effect.gen(function* () {
      const kit = yield* ConsentKit.ConsentKit
      yield* kit.record({
        tenant,
        subject: "s",
        source: "banner",
        decisions: [{ purpose: "marketing.email", action: "grant", noticeVersion: 1 }],
      })
      return yield* kit.decide(tenant, "s", "marketing.email")
    })
    const live = ConsentKit.layer({
      policy: conformancePolicy,
      secret: "s-0123456789abcdef0123456789abcdef",
    }).pipe(Layer.provide(layer({ url: tempSqlite("layer") })))
    expect(await Effect.runPromise(program.pipe(Effect.provide(live)))).toMatchObject({
      allowed: true,
      reason: "granted",
    })
  })
})
