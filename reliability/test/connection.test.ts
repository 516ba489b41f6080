import { Command, createConsentKit, StoreError } from "@consentkit/core"
import Database from "better-sqlite3"
import { sql } from "kysely"
import pg from "pg"
import { describe, expect, test } from "vitest"
import { silentAdapters } from "./support/applying.js"
import { pool, seeded, sleep, until } from "./support/async.js"
import { startChild } from "./support/child.js"
import { count, DIALECTS, PG_URL, type TestDatabase, withDatabase } from "./support/db.js"
import { decisions, policy, recorderCommand, SECRET, uniqueTenant } from "./support/policy.js"

/** Rows of a tenant in the ledger, state, outbox and command tables. */
const rowsOf = async ({ db, table }: TestDatabase, tenant: string) => {
  const n = (name: string) =>
    count(sql<{ n: unknown }>`select count(*) as n from ${table(name)} where tenant = ${tenant}`.execute(db))
  return {
    event: await n("event"),
    state: await n("state"),
    outbox: await n("outbox"),
    command: await n("command"),
  }
}

const kitOver = (database: TestDatabase) =>
  createConsentKit({
    policy,
    store: database.store,
    secret: SECRET,
    adapters: silentAdapters(),
    dispatcher: { autoStart: false },
  })

/** What a rejected promise rejected with (undefined if it resolved). */
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

describe.runIf(PG_URL !== undefined)(
  "database connection killed in the middle of a record (postgres)",
  () => {
    // The app runs in its own process: a connection error that escapes the store would crash it,
    // which is what this test must see, not swallow.
    test("pg_terminate_backend mid-transaction: no partial write, a retryable StoreError, the app keeps running, and a retry records once", () =>
      withDatabase("postgres", async (database) => {
        const { prefix } = database
        const tenant = uniqueTenant("terminate")
        const app = await startChild("terminate.ts", [database.url, prefix, tenant])
        const locker = new pg.Client({ connectionString: PG_URL })
        const admin = new pg.Client({ connectionString: PG_URL })
        locker.on("error", () => undefined)
        await locker.connect()
        await admin.connect()
        const next = async (n: number) => {
          app.send("record")
          await until(
            () =>
              app.lines.filter((l) => l.startsWith("result ")).length >= n ||
              app.process.exitCode !== null ||
              app.process.signalCode !== null,
            60_000,
            10,
          )
          const line = app.lines.filter((l) => l.startsWith("result "))[n - 1]
          if (line === undefined)
            throw new Error(
              `the app process died (${String(app.process.exitCode ?? app.process.signalCode)}):\n${app.stderr()}`,
            )
          return JSON.parse(line.slice("result ".length))
        }
        try {
          await app.waitFor("seeded")
          const before = await rowsOf(database, tenant)

          // An uncommitted row under the same idempotency key: record appends its events, saves the
          // state and enqueues its intents, then waits on that key's unique index as it keeps the
          // command, its last write (in one statement on the two-round-trip path). So it blocks with every other write done.
          await locker.query("begin")
          await locker.query(
            `insert into "${prefix}command" (tenant, key, subject, command_id, recorded_at, event_ids, receipt) values ($1, $2, 's1', 'locker', 0, '[]', null)`,
            [tenant, await Command.storedIdempotencyKey(tenant, "s1", "withdraw-1")],
          )
          const first = next(1)
          let pid: number | undefined
          const blocked = await until(
            async () => {
              const found = await admin.query<{ pid: number }>(
                // The locked path's own INSERT, or the two-round-trip path's commit function doing it.
                "select pid from pg_stat_activity where wait_event_type = 'Lock' and (position($1 in query) > 0 or position($2 in query) > 0)",
                [`${prefix}command`, `${prefix}commit_v1`],
              )
              pid = found.rows[0]?.pid
              return pid !== undefined
            },
            30_000,
            20,
          )
          expect(blocked).toBe(true)
          // The blocked transaction has written to the ledger, the state and the outbox (uncommitted).
          const written = await admin.query<{ relname: string }>(
            "select c.relname from pg_locks l join pg_class c on c.oid = l.relation where l.pid = $1 and l.mode = 'RowExclusiveLock' order by 1",
            [pid],
          )
          expect(written.rows.map((r) => r.relname)).toEqual(
            expect.arrayContaining([`${prefix}event`, `${prefix}outbox`, `${prefix}state`]),
          )
          const terminated = await admin.query<{ ok: boolean }>("select pg_terminate_backend($1) as ok", [
            pid,
          ])
          expect(terminated.rows[0]?.ok).toBe(true)
          await locker.query("rollback")

          expect(await first).toMatchObject({
            ok: false,
            tag: "StoreError",
            isRetryable: true,
            code: "UNAVAILABLE",
          })
          expect(await rowsOf(database, tenant)).toEqual(before)

          // The same process retries on its pool: the dead connection must not come back.
          const retried = await next(2)
          expect(retried).toMatchObject({ ok: true, duplicate: false, events: 1 })
          expect(await next(3)).toMatchObject({ ok: true, duplicate: true, commandId: retried.commandId })
          const after = await rowsOf(database, tenant)
          expect(after.event).toBe(before.event + 1)
          expect(after.command).toBe(before.command + 1)
          expect(after.outbox).toBe(before.outbox + retried.intents * 2)

          const kit = kitOver(database)
          try {
            expect((await kit.verify(tenant, "s1")).ok).toBe(true)
            expect((await kit.decide(tenant, "s1", "marketing")).allowed).toBe(false)
          } finally {
            await kit.close()
          }
          app.send("exit")
          expect(await app.exited).toBe(0)
        } finally {
          await app.kill9()
          await locker.end().catch(() => undefined)
          await admin.end()
        }
      }))
  },
)

describe("SQLite write lock held by another process", () => {
  test("a record that cannot take the lock fails with a retryable StoreError, writes nothing, and a retry records once", () =>
    withDatabase(
      "sqlite",
      async (database) => {
        const tenant = uniqueTenant("busy")
        const kit = kitOver(database)
        const other = new Database(database.url.slice("sqlite:".length))
        try {
          await kit.record(decisions(tenant, "s1", "grant", ["analytics", "marketing"]))
          const before = await rowsOf(database, tenant)
          const withdraw = decisions(tenant, "s1", "withdraw", ["marketing"], {
            idempotencyKey: "withdraw-1",
          })
          other.exec("begin immediate")
          const error = await failureOf(kit.record(withdraw))
          other.exec("rollback")
          expect(error).toBeInstanceOf(StoreError)
          expect(error).toMatchObject({ _tag: "StoreError", isRetryable: true, code: "CONFLICT" })
          expect(await rowsOf(database, tenant)).toEqual(before)

          const retried = await kit.record(withdraw)
          expect(retried).toMatchObject({ duplicate: false })
          expect(await kit.record(withdraw)).toMatchObject({ duplicate: true, commandId: retried.commandId })
          const after = await rowsOf(database, tenant)
          expect(after.event).toBe(before.event + 1)
          expect(after.command).toBe(before.command + 1)
        } finally {
          other.close()
          await kit.close()
        }
      },
      { busyTimeoutMs: 20 },
    ))
})

const COMMANDS = 200

for (const { name, enabled } of DIALECTS) {
  describe.runIf(enabled)(`a recording process killed with SIGKILL (${name})`, () => {
    test("every command is whole or absent, and retrying every key records each exactly once", () =>
      withDatabase(name, async (database) => {
        const { db, table } = database
        const tenant = uniqueTenant("recorder")
        const child = await startChild("recorder.ts", [
          database.url,
          database.prefix,
          tenant,
          String(COMMANDS),
        ])
        const commands = () =>
          count(
            sql<{
              n: unknown
            }>`select count(*) as n from ${table("command")} where tenant = ${tenant}`.execute(db),
          )
        try {
          await child.waitFor("ready")
          const random = seeded(11)
          await until(async () => (await commands()) >= 20, 30_000, 10)
          await sleep(random() * 50)
        } finally {
          await child.kill9()
        }
        expect(child.lines).not.toContain("done")
        const committed = await commands()
        expect(committed).toBeGreaterThan(0)
        expect(committed).toBeLessThan(COMMANDS)

        const kit = kitOver(database)
        try {
          // Each subject has one command of three decisions (4 intents × 2 adapters): all of it or none.
          const perSubject = await sql<{
            subject: string
            event: unknown
            state: unknown
            outbox: unknown
            command: unknown
          }>`
            select s.subject,
              (select count(*) from ${table("event")} e where e.tenant = s.tenant and e.subject = s.subject) as event,
              (select count(*) from ${table("state")} t where t.tenant = s.tenant and t.subject = s.subject) as state,
              (select count(*) from ${table("outbox")} o where o.tenant = s.tenant and o.subject = s.subject) as outbox,
              (select count(*) from ${table("command")} c where c.tenant = s.tenant and c.subject = s.subject) as command
            from ${table("subject")} s where s.tenant = ${tenant}`.execute(db)
          const shapes = new Set(
            perSubject.rows.map((r) => `${r.event}/${r.state}/${r.outbox}/${r.command}`.replace(/n/g, "")),
          )
          expect([...shapes].filter((s) => s !== "3/3/8/1")).toEqual([])
          expect(perSubject.rows.length).toBe(committed)

          const retried = await pool(
            Array.from({ length: COMMANDS }, (_, i) => i),
            8,
            (i) => kit.record(recorderCommand(tenant, i)),
          )
          expect(retried.filter((r) => r.duplicate)).toHaveLength(committed)
          const rows = await rowsOf(database, tenant)
          expect(rows).toEqual({
            event: COMMANDS * 3,
            state: COMMANDS * 3,
            outbox: COMMANDS * 8,
            command: COMMANDS,
          })
          for (const i of [0, committed - 1, committed, COMMANDS - 1]) {
            expect((await kit.verify(tenant, `r${i}`)).ok).toBe(true)
          }
        } finally {
          await kit.close()
        }
      }))
  })
}
