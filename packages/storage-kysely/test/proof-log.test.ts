import { createConsentKit, MerkleLog, ProofLog, Signer, Tracker } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { sql } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { dialects } from "./dialects.js"
import { freshTenant, policy } from "./fixtures/policy.js"

const keys = Signer.generatePem()
const signer = Effect.runSync(Signer.fromPrivateKeyPem(keys.privateKey, "test-log"))
const verifier = Signer.verifierFromPem(keys.publicKey, "test-log")
const run = Effect.runPromise

/** Drops every table of the test's prefix on a server (SQLite files and PGlite vanish on their own). */
const dropTables = async (opened: Awaited<ReturnType<typeof openStore>> | undefined, name: string) => {
  if (!opened || (name !== "postgres" && name !== "mysql")) return
  const p = opened.store.tablePrefix
  const tables =
    name === "postgres"
      ? await sql<{
          t: string
        }>`select tablename as t from pg_tables where schemaname = current_schema() and left(tablename, ${p.length}) = ${p}`.execute(
          opened.store.db,
        )
      : await sql<{
          t: string
        }>`select table_name as t from information_schema.tables where table_schema = database() and left(table_name, ${p.length}) = ${p}`.execute(
          opened.store.db,
        )
  for (const { t } of tables.rows) await sql`drop table if exists ${sql.table(t)}`.execute(opened.store.db)
  if (name === "postgres") {
    await sql.raw(`drop function if exists ${p}refuse_change()`).execute(opened.store.db)
    await sql.raw(`drop function if exists ${p}commit_v1(jsonb)`).execute(opened.store.db)
  }
}

describe.each(dialects())("proof log ($name)", (dialect) => {
  // A prefix of its own: on a shared server, other branches' stores keep their migration table unaware of this one's.
  const prefix = `ck_proof_${Math.random().toString(36).slice(2, 8)}_`
  let opened: Awaited<ReturnType<typeof openStore>>
  beforeAll(async () => {
    opened = await openStore(dialect.url(), { tablePrefix: prefix })
  }, 60_000)
  afterAll(async () => {
    await dropTables(opened, dialect.name)
    await opened?.close()
  })

  const kitFor = () =>
    createConsentKit({
      policy,
      store: opened.store,
      secret: "s-0123456789abcdef0123456789abcdef",
      dispatcher: { autoStart: false },
    })
  const grant = (
    kit: ReturnType<typeof kitFor>,
    tenant: string,
    subject: string,
    action: "grant" | "withdraw" = "grant",
  ) =>
    kit.record({
      tenant,
      subject,
      source: "banner",
      decisions: [{ purpose: "analytics", action, noticeVersion: 2 }],
    })

  it("logs every event in commit order, concurrent subjects included, and proves each one", async () => {
    const kit = kitFor()
    const tenant = freshTenant("log")
    try {
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (async () => {
            await grant(kit, tenant, `s${i}`)
            await grant(kit, tenant, `s${i}`, "withdraw")
          })(),
        ),
      )
      const log = opened.store.log!
      const range = await run(log.logRange(tenant))
      expect(range.size).toBe(12)
      const entries = await run(log.logEntries(tenant, 0, 12))
      expect(entries.map((e) => e.index)).toEqual([...Array(12).keys()])
      const events = await run(log.tenantEvents(tenant))
      expect(new Set(entries.map((e) => e.ref))).toEqual(new Set(events.map((e) => e.id)))
      const leaves = entries.map((e) => ProofLog.leafOf(e.entry))
      const root = MerkleLog.rootFromLeaves(leaves)
      expect(MerkleLog.equal(MerkleLog.rootOf(range), root)).toBe(true)
      for (const e of entries) {
        const proof = await run(ProofLog.proveEvent(opened.store, tenant, e.index, 12))
        expect(ProofLog.verifyEventProof(proof, root)).toBe(true)
        expect(ProofLog.verifyEventProof({ ...proof, index: (e.index + 1) % 12 }, root)).toBe(false)
      }
    } finally {
      await kit.close()
    }
  })

  it("keeps personal fields encrypted under the subject's data key, readable until erasure destroys it", async () => {
    const kit = kitFor()
    const tenant = freshTenant("shred")
    const actorId = `agent-${"x".repeat(240)}`
    try {
      await kit.record({
        tenant,
        subject: "nok",
        source: "banner",
        actor: { kind: "operator", id: actorId },
        evidence: { userAgent: "UA/secret-agent", metadata: { ticket: "T-99" } },
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
      const raw = await sql<{
        actor_id: string
        evidence: string
      }>`select actor_id, evidence from ${sql.table(`${opened.store.tablePrefix}event`)} where tenant = ${tenant}`.execute(
        opened.store.db,
      )
      expect(raw.rows[0]!.evidence).toMatch(/^ck1:/)
      expect(raw.rows[0]!.actor_id).toMatch(/^ck1:/)
      expect(JSON.stringify(raw.rows)).not.toContain("secret-agent")
      const [event] = await run(opened.store.history(tenant, "nok"))
      expect(event).toMatchObject({
        actor: { kind: "operator", id: actorId },
        evidence: { userAgent: "UA/secret-agent", metadata: { ticket: "T-99" } },
      })
      const erased = await kit.erase({ tenant, subject: "nok" })
      expect(erased.keyDestroyed?.id).toMatch(/^[0-9a-f-]{36}$/)
      const status = await kit.erasureStatus(tenant, erased.erasureId)
      expect(status.request.destroyedKey).toEqual(erased.keyDestroyed)
    } finally {
      await kit.close()
    }
  })

  it("erasure pseudonymises the subject's pending outbox rows; its erase intent waits behind them", async () => {
    const tenant = freshTenant("pending")
    // An adapter of this run's own: a server database keeps the rows of earlier runs.
    const tracker = Tracker.make({
      name: `pending-${tenant}`,
      stop: async () => undefined,
      resume: async () => undefined,
      erase: async () => undefined,
    })
    const kit = createConsentKit({
      policy,
      store: opened.store,
      secret: "s-0123456789abcdef0123456789abcdef",
      trackers: [tracker],
      dispatcher: { autoStart: false },
    })
    try {
      await kit.record({
        tenant,
        subject: "ploy@example.com",
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
      const erased = await kit.erase({ tenant, subject: "ploy@example.com" })
      const rows = await sql<{
        subject: string
        kind: string
        intent: string
      }>`select subject, kind, intent from ${sql.table(`${opened.store.tablePrefix}outbox`)} where tenant = ${tenant} order by id`.execute(
        opened.store.db,
      )
      expect(rows.rows.map((r) => [r.kind, r.subject])).toEqual([
        ["tracking.resume", erased.pseudonym],
        ["subject.erase", erased.pseudonym],
      ])
      expect(rows.rows[0]!.intent).not.toContain("ploy@example.com")
      expect(JSON.parse(rows.rows[1]!.intent).subject).toBe("ploy@example.com")
      const claim = () =>
        run(
          opened.store.claim({
            owner: "o",
            limit: 10,
            leaseMs: 60_000,
            now: new Date(),
            adapters: [tracker.name],
          }),
        )
      const [first] = (await claim()).filter((d) => d.intent.tenant === tenant)
      expect(first?.intent.kind).toBe("tracking.resume")
      await run(opened.store.complete(first!.id, "o", new Date()))
      const [second] = (await claim()).filter((d) => d.intent.tenant === tenant)
      expect(second?.intent).toMatchObject({ kind: "subject.erase", subject: "ploy@example.com" })
      await run(opened.store.complete(second!.id, "o", new Date()))
      const after = await sql<{
        intent: string
      }>`select intent from ${sql.table(`${opened.store.tablePrefix}outbox`)} where tenant = ${tenant}`.execute(
        opened.store.db,
      )
      expect(JSON.stringify(after.rows)).not.toContain("ploy@example.com")
    } finally {
      await kit.close()
    }
  })

  it("a checkpoint audits ok, and still after growth and an erasure; a rewritten entry fails", async () => {
    const kit = kitFor()
    const tenant = freshTenant("audit")
    try {
      await grant(kit, tenant, "alice")
      await grant(kit, tenant, "bob")
      const first = await run(ProofLog.checkpoint(opened.store, signer, tenant))
      expect(first.checkpoint.size).toBe(2)
      expect(await run(ProofLog.audit(opened.store, verifier, tenant, first.note))).toMatchObject({
        ok: true,
        size: 2,
      })
      await grant(kit, tenant, "alice", "withdraw")
      await kit.erase({ tenant, subject: "bob" })
      const grown = await run(ProofLog.audit(opened.store, verifier, tenant, first.note))
      expect(grown).toMatchObject({ ok: true, checkpointSize: 2, size: 4, events: 3 })
      const second = await run(ProofLog.checkpoint(opened.store, signer, tenant))
      const proof = await run(ProofLog.consistencyProof(opened.store, tenant, 2, 4))
      expect(MerkleLog.verifyConsistency(2, 4, first.checkpoint.root, second.checkpoint.root, proof)).toBe(
        true,
      )

      const db = opened.store.db
      const t = (name: string) => sql.table(`${opened.store.tablePrefix}${name}`)
      const refused = async (query: ReturnType<typeof sql>) => {
        const error = await query.execute(db).then(
          () => null,
          (e: unknown) => e as Error,
        )
        expect(error?.message).toMatch(/append-only/)
      }
      // The guard triggers refuse changes outside the erasure path.
      await refused(sql`update ${t("event")} set action = 'grant' where tenant = ${tenant}`)
      await refused(sql`delete from ${t("event")} where tenant = ${tenant}`)
      await refused(sql`update ${t("log_entry")} set entry = '{}' where tenant = ${tenant}`)
      await refused(sql`delete from ${t("log_entry")} where tenant = ${tenant}`)
      await refused(sql`delete from ${t("log_node")} where tenant = ${tenant}`)
      await refused(sql`delete from ${t("log_head")} where tenant = ${tenant}`)
      expect((await run(ProofLog.audit(opened.store, verifier, tenant, second.note))).ok).toBe(true)
      // A writer who drops the guards is caught by the checkpoint instead.
      for (const op of ["update", "delete"])
        await sql
          .raw(
            dialect.name === "sqlite" || dialect.name === "mysql"
              ? `drop trigger ${prefix}event_no_${op}`
              : `drop trigger ${prefix}event_no_${op} on ${prefix}event`,
          )
          .execute(db)
      await sql`update ${sql.table(`${opened.store.tablePrefix}event`)} set action = 'grant' where tenant = ${tenant} and action = 'withdraw'`.execute(
        db,
      )
      const tampered = await run(ProofLog.audit(opened.store, verifier, tenant, second.note))
      expect(tampered).toMatchObject({ ok: false, problem: { kind: "entry", index: 2 } })
    } finally {
      await kit.close()
    }
  })
})
