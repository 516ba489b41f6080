import { type Client, createConsentKit, MemoryStore } from "@consentkit/core"
import { type ConformancePurpose, conformancePolicy, uniqueTenant } from "@consentkit/core/testing"
import type { Kysely } from "kysely"
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest"
import { type CdpSql, cdpSql } from "../src/index.js"
import { dialects, postgresUrl } from "./dialects.js"

it("runs the PostgreSQL suite in CI", () => {
  if (process.env.CI) expect(postgresUrl, "CONSENTKIT_PG_URL must be set in CI").toBeTruthy()
})

describe.each(dialects())("cdp-sql on $name", ({ name, connect }) => {
  // Unique table names: other suites may share the PostgreSQL database at the same time.
  const suffix = Math.random().toString(36).slice(2, 10)
  const events = `ck_events_${suffix}`
  const profiles = `ck_profiles_${suffix}`
  let db: Kysely<any>
  let kit: Client<ConformancePurpose>
  let cdp: CdpSql

  beforeAll(async () => {
    db = connect()
    await db.schema
      .createTable(events)
      // An integer primary key is SQLite's rowid; PostgreSQL needs serial to number rows.
      .addColumn("id", name === "postgres" ? "serial" : "integer", (c) => c.primaryKey())
      .addColumn("tenant", "varchar(64)", (c) => c.notNull())
      .addColumn("customer_id", "varchar(256)", (c) => c.notNull())
      .addColumn("name", "varchar(64)", (c) => c.notNull())
      .execute()
    await db.schema
      .createTable(profiles)
      .addColumn("tenant", "varchar(64)", (c) => c.notNull())
      .addColumn("customer_id", "varchar(256)", (c) => c.notNull())
      .addColumn("city", "varchar(64)")
      .addColumn("email_hash", "varchar(128)")
      .addColumn("favourite_tea", "varchar(64)")
      .execute()
    const descriptor = cdpSql({
      db,
      tables: [
        {
          table: events,
          subjectColumn: "customer_id",
          tenantColumn: "tenant",
          purpose: "analytics",
          erase: "delete",
        },
        {
          table: profiles,
          subjectColumn: "customer_id",
          tenantColumn: "tenant",
          columns: { email_hash: "marketing", favourite_tea: "analytics" },
          erase: { anonymise: { email_hash: null, favourite_tea: null, city: null } },
        },
      ],
    })
    kit = createConsentKit({
      policy: conformancePolicy,
      store: MemoryStore.make(),
      secret: "test-secret-0123456789abcdef0123456789abcdef",
      adapters: [descriptor],
      dispatcher: { autoStart: false },
    })
    cdp = kit.adapter(descriptor)
  })

  afterAll(async () => {
    await kit?.close()
    await db?.schema.dropTable(events).ifExists().execute()
    await db?.schema.dropTable(profiles).ifExists().execute()
    await db?.destroy()
  })

  const eventsOf = async (tenant: string, subject: string) =>
    (
      await db
        .selectFrom(events)
        .select("name")
        .where("tenant", "=", tenant)
        .where("customer_id", "=", subject)
        .orderBy("id")
        .execute()
    ).map((r) => r.name)

  it("writes before a withdrawal and nothing after it, column by column", async () => {
    const tenant = uniqueTenant()
    const subject = `${tenant}-c1`
    await kit.record({
      tenant,
      subject,
      source: "banner",
      decisions: [
        { purpose: "analytics", action: "grant", noticeVersion: 2 },
        { purpose: "marketing", action: "grant", noticeVersion: 1 },
      ],
    })
    await kit.dispatchPending()
    expect(await cdp.insert(tenant, events, { customer_id: subject, name: "viewed" })).toEqual({
      written: true,
      rows: 1,
      refused: [],
    })
    await cdp.insert(tenant, profiles, {
      customer_id: subject,
      city: "Bangkok",
      email_hash: "h1",
      favourite_tea: "oolong",
    })

    await kit.record({
      tenant,
      subject,
      source: "preference-center",
      decisions: [{ purpose: "analytics", action: "withdraw" }],
    })
    expect(await cdp.insert(tenant, events, { customer_id: subject, name: "after-record" })).toEqual({
      written: false,
      rows: 0,
      refused: [{ column: null, purpose: "analytics", reason: "withdrawn" }],
    })
    const partial = await cdp.update(tenant, profiles, subject, { favourite_tea: "sencha", email_hash: "h2" })
    expect(partial).toEqual({
      written: true,
      rows: 1,
      refused: [{ column: "favourite_tea", purpose: "analytics", reason: "withdrawn" }],
    })
    await kit.dispatchPending()
    expect((await cdp.insert(tenant, events, { customer_id: subject, name: "after-dispatch" })).written).toBe(
      false,
    )
    expect((await cdp.update(tenant, profiles, subject, { favourite_tea: "matcha" })).refused).toEqual([
      { column: "favourite_tea", purpose: "analytics", reason: "stopped" },
    ])

    expect(await eventsOf(tenant, subject)).toEqual(["viewed"])
    const profile = await db
      .selectFrom(profiles)
      .selectAll()
      .where("customer_id", "=", subject)
      .executeTakeFirstOrThrow()
    expect(profile).toMatchObject({ tenant, city: "Bangkok", email_hash: "h2", favourite_tea: "oolong" })
  })

  it("writes nothing for a subject who never consented", async () => {
    const tenant = uniqueTenant()
    const subject = `${tenant}-stranger`
    expect((await cdp.insert(tenant, events, { customer_id: subject, name: "x" })).written).toBe(false)
    expect(
      (await cdp.insert(tenant, profiles, { customer_id: subject, favourite_tea: "oolong" })).written,
    ).toBe(false)
    expect(await eventsOf(tenant, subject)).toEqual([])
    expect(await db.selectFrom(profiles).selectAll().where("customer_id", "=", subject).execute()).toEqual([])
  })

  it("erases as configured: events deleted, profile anonymised, aliases included, other subjects untouched", async () => {
    const tenant = uniqueTenant()
    const subject = `${tenant}-leaving`
    const anon = `${tenant}-anon`
    const other = `${tenant}-staying`
    for (const s of [subject, anon, other]) {
      await kit.record({
        tenant,
        subject: s,
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
      await cdp.insert(tenant, events, { customer_id: s, name: "viewed" })
    }
    await cdp.insert(tenant, profiles, { customer_id: subject, city: "Chiang Mai", favourite_tea: "oolong" })
    await cdp.insert(tenant, profiles, { customer_id: other, city: "Phuket", favourite_tea: "jasmine" })
    await kit.link({ tenant, subject, alias: { kind: "anonymous", value: anon } })

    const receipt = await kit.erase({ tenant, subject })
    await kit.dispatchPending()
    expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(true)

    expect(await eventsOf(tenant, subject)).toEqual([])
    expect(await eventsOf(tenant, anon)).toEqual([])
    expect(await eventsOf(tenant, other)).toEqual(["viewed"])
    const rows = await db.selectFrom(profiles).selectAll().where("tenant", "=", tenant).execute()
    expect(rows.sort((a, b) => a.customer_id.localeCompare(b.customer_id))).toEqual([
      { tenant, customer_id: other, city: "Phuket", email_hash: null, favourite_tea: "jasmine" },
      { tenant, customer_id: receipt.pseudonym, city: null, email_hash: null, favourite_tea: null },
    ])
  })

  it("refuses a configuration naming a purpose the policy lacks", () => {
    const bad = cdpSql({
      db,
      tables: [{ table: "t", subjectColumn: "s", purpose: "analytcs", erase: "delete" }],
    })
    const badKit = createConsentKit({
      policy: conformancePolicy,
      store: MemoryStore.make(),
      secret: "test-secret-0123456789abcdef0123456789abcdef",
      adapters: [bad],
      dispatcher: { autoStart: false },
    })
    onTestFinished(() => badKit.close())
    expect(() => badKit.adapter(bad)).toThrow(/"analytcs"/)
  })
})
