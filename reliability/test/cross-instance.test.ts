/**
 * Several app instances on one store: a withdrawal recorded on instance A is refused by instance
 * B, whose cache held the grant (its TTL is ten minutes, so only the change feed can tell it).
 * PostgreSQL: two kits on separate pools (NOTIFY). SQLite: two processes on one file (the
 * indexed poll). MySQL: two pools (the poll), when CONSENTKIT_MYSQL_URL is set. And the
 * fail-safe: a killed LISTEN connection, and a store B cannot reach at all.
 */
import { type Client, createConsentKit } from "@consentkit/core"
import { eventually } from "@consentkit/core/testing"
import { type OpenedStore, openStore } from "@consentkit/storage-kysely"
import { sql } from "kysely"
import pg from "pg"
import { afterAll, describe, expect, test } from "vitest"
import { startChild } from "./support/child.js"
import { PG_URL, withDatabase } from "./support/db.js"
import { decisions, policy, type Purpose, SECRET, uniqueTenant } from "./support/policy.js"

const MYSQL_URL = process.env.CONSENTKIT_MYSQL_URL?.trim() || undefined
const SUBJECTS = Array.from({ length: 50 }, (_, i) => `s${i}`)

const kits: Array<Client<Purpose>> = []
afterAll(async () => {
  for (const kit of kits) await kit.close()
})

const kitOn = (store: OpenedStore["store"]) => {
  const kit = createConsentKit({
    policy,
    store,
    secret: SECRET,
    // Ten minutes: without the feed, B would allow for that long.
    cache: { ttlMs: 600_000 },
    dispatcher: { autoStart: false },
  })
  kits.push(kit)
  return kit
}

const grantAll = async (kit: Client<Purpose>, tenant: string, subjects = SUBJECTS) => {
  for (const s of subjects) await kit.record(decisions(tenant, s, "grant", ["marketing.email"]))
}
const withdrawAll = async (kit: Client<Purpose>, tenant: string, subjects = SUBJECTS) => {
  for (const s of subjects) await kit.record(decisions(tenant, s, "withdraw", ["marketing.email"]))
}
/** B decides every subject (read through, now cached) and holds the grants in its cache. */
const cacheGrants = async (kit: Client<Purpose>, tenant: string, subjects = SUBJECTS) => {
  await eventually(() => expect(kit.feedStatus().up).toBe(true), 30_000)
  for (const s of subjects) expect((await kit.decide(tenant, s, "marketing.email")).allowed).toBe(true)
  for (const s of subjects) expect(kit.decideCached(tenant, s, "marketing.email")?.allowed).toBe(true)
}
const allowedOn = async (kit: Client<Purpose>, tenant: string, subjects = SUBJECTS) => {
  const allowed: Array<string> = []
  for (const s of subjects) if ((await kit.decide(tenant, s, "marketing.email")).allowed) allowed.push(s)
  return allowed
}

/** Two kits on two stores (two pools) over one database. */
const twoPools = async (url: string, prefix: string) => {
  const a = await openStore(url, { tablePrefix: prefix, migrate: false })
  const b = await openStore(url, { tablePrefix: prefix, migrate: false })
  return { a, b, close: async () => Promise.all([a.close(), b.close()]) }
}

describe.runIf(PG_URL !== undefined)("PostgreSQL: two kits on separate pools", () => {
  test("after A withdraws 50 subjects, B (which cached their grants) refuses all 50", () =>
    withDatabase("postgres", async (database) => {
      const tenant = uniqueTenant("x-pg")
      const pools = await twoPools(database.url, database.prefix)
      try {
        const kitA = kitOn(pools.a.store)
        const kitB = kitOn(pools.b.store)
        await grantAll(kitA, tenant)
        await cacheGrants(kitB, tenant)
        await withdrawAll(kitA, tenant)
        await eventually(async () => expect(await allowedOn(kitB, tenant)).toEqual([]), 60_000)
        for (const s of SUBJECTS)
          expect((await kitB.gate.send({ tenant, subject: s, channel: "email" })).allowed).toBe(false)
        // B heard it by NOTIFY on its own LISTEN connection.
        expect(kitB.feedStatus()).toMatchObject({ following: true, up: true, push: true })
      } finally {
        await pools.close()
      }
    }))

  test("B's LISTEN connection killed (pg_terminate_backend): B falls back to polling, reconnects, and still refuses", () =>
    withDatabase("postgres", async (database) => {
      const tenant = uniqueTenant("x-pg-kill")
      const pools = await twoPools(database.url, database.prefix)
      const admin = new pg.Client({ connectionString: PG_URL })
      await admin.connect()
      try {
        const kitA = kitOn(pools.a.store)
        const kitB = kitOn(pools.b.store)
        await grantAll(kitA, tenant, SUBJECTS.slice(0, 10))
        await cacheGrants(kitB, tenant, SUBJECTS.slice(0, 10))
        await eventually(() => expect(kitB.feedStatus().push).toBe(true), 30_000)
        // Every LISTEN connection on this test's own channel (its table prefix): A's and B's.
        const listening = async () =>
          (
            await admin.query<{ pid: number }>(
              "select pid from pg_stat_activity where query like $1 and pid <> pg_backend_pid()",
              [`LISTEN "${database.prefix}%`],
            )
          ).rows.map((r) => r.pid)
        const pids = await listening()
        expect(pids.length).toBeGreaterThanOrEqual(1)
        for (const pid of pids) await admin.query("select pg_terminate_backend($1)", [pid])
        await withdrawAll(kitA, tenant, SUBJECTS.slice(0, 10))
        await eventually(
          async () => expect(await allowedOn(kitB, tenant, SUBJECTS.slice(0, 10))).toEqual([]),
          60_000,
        )
        // It listens again: a new backend, and B's push feed is up.
        await eventually(async () => {
          expect(kitB.feedStatus()).toMatchObject({ up: true, push: true })
          const now = await listening()
          expect(now.some((pid) => !pids.includes(pid))).toBe(true)
        }, 60_000)
        // And a withdrawal after the reconnect reaches B too.
        await grantAll(kitA, tenant, ["late"])
        await cacheGrants(kitB, tenant, ["late"])
        await withdrawAll(kitA, tenant, ["late"])
        await eventually(async () => expect(await allowedOn(kitB, tenant, ["late"])).toEqual([]), 60_000)
      } finally {
        await admin.end()
        await pools.close()
      }
    }))

  test("B cannot reach the store at all: a gated send fails with a StoreError (retried, not sent), it is never allowed", () =>
    withDatabase("postgres", async (database) => {
      const tenant = uniqueTenant("x-pg-down")
      const pools = await twoPools(database.url, database.prefix)
      try {
        const kitA = kitOn(pools.a.store)
        const kitB = createConsentKit({
          policy,
          store: pools.b.store,
          secret: SECRET,
          cache: { ttlMs: 600_000 },
          feed: { staleAfterMs: 500 },
          dispatcher: { autoStart: false },
        })
        await grantAll(kitA, tenant, ["s0"])
        await cacheGrants(kitB, tenant, ["s0"])
        // B's pool and LISTEN connection are gone: no feed, no reads.
        await pools.b.close()
        await withdrawAll(kitA, tenant, ["s0"])
        await eventually(async () => {
          expect(kitB.feedStatus().up).toBe(false)
          await expect(kitB.gate.send({ tenant, subject: "s0", channel: "email" })).rejects.toMatchObject({
            _tag: "StoreError",
          })
        }, 30_000)
        expect(kitB.decideCached(tenant, "s0", "marketing.email")).toBeUndefined()
        await kitB.close()
      } finally {
        await pools.a.close()
      }
    }))
})

describe("SQLite: two processes on one file", () => {
  test("after A withdraws 50 subjects, B in another process (which cached their grants) refuses all 50", () =>
    withDatabase("sqlite", async (database) => {
      const tenant = uniqueTenant("x-sqlite")
      const kitA = createConsentKit({
        policy,
        store: database.store,
        secret: SECRET,
        dispatcher: { autoStart: false },
      })
      await grantAll(kitA, tenant)
      const b = await startChild("follower.ts", [
        database.url,
        database.prefix,
        tenant,
        String(SUBJECTS.length),
      ])
      try {
        expect(await b.waitFor("cached")).toBe(`cached ${SUBJECTS.length}`)
        await withdrawAll(kitA, tenant)
        const refused = await Promise.race([
          b.waitFor("refused"),
          new Promise<string>((_, reject) =>
            setTimeout(() => reject(new Error(`B never refused all:\n${b.stderr()}`)), 90_000),
          ),
        ])
        expect(refused).toBe(`refused ${SUBJECTS.length}`)
        expect(await b.exited).toBe(0)
      } finally {
        await b.kill9()
        await kitA.close()
      }
    }))
})

describe.runIf(MYSQL_URL !== undefined)("MySQL: two kits on separate pools", () => {
  test("after A withdraws 50 subjects, B (which cached their grants) refuses all 50", async () => {
    const prefix = `rel_${Math.random()
      .toString(36)
      .slice(2, 10)
      .replace(/[^a-z0-9]/g, "x")}_`
    const first = await openStore(MYSQL_URL!, { tablePrefix: prefix })
    const pools = await twoPools(MYSQL_URL!, prefix)
    const tenant = uniqueTenant("x-mysql")
    try {
      const kitA = kitOn(pools.a.store)
      const kitB = kitOn(pools.b.store)
      await grantAll(kitA, tenant)
      await cacheGrants(kitB, tenant)
      await withdrawAll(kitA, tenant)
      await eventually(async () => expect(await allowedOn(kitB, tenant)).toEqual([]), 60_000)
      expect(kitB.feedStatus()).toMatchObject({ following: true, up: true, push: null })
    } finally {
      await pools.close()
      const db = first.database.db
      const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables
        where table_schema = database() and left(table_name, ${prefix.length}) = ${prefix}`.execute(db)
      await sql`set foreign_key_checks = 0`.execute(db)
      for (const { name } of tables.rows) await sql`drop table if exists ${sql.table(name)}`.execute(db)
      await first.close()
    }
  })
})
