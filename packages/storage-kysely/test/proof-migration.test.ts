import { copyFileSync, existsSync, readFileSync, statSync } from "node:fs"
import { createConsentKit, Erasure, ProofLog, Signer } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { tempSqlite } from "./dialects.js"
import { policy } from "./fixtures/policy.js"

const fixture = new URL("./fixtures/ledger-0.1.0.sqlite", import.meta.url).pathname
const run = Effect.runPromise

describe("migrating a ledger written by consentkit 0.1.0 into the proof log", () => {
  it("brings every event in, in order, the erasure after them, and one checkpoint audits ok", async () => {
    const path = tempSqlite("legacy")
    copyFileSync(fixture, path)
    const { store, close } = await openStore(path)
    const keys = Signer.generatePem()
    const signer = await run(Signer.fromPrivateKeyPem(keys.privateKey, "legacy"))
    const verifier = Signer.verifierFromPem(keys.publicKey, "legacy")
    try {
      for (const tenant of ["acme", "globex"]) {
        const log = store.log!
        const events = await run(log.tenantEvents(tenant))
        expect(events).toHaveLength(28)
        expect(events.filter((e) => e.erased).length).toBeGreaterThan(0)
        const range = await run(log.logRange(tenant))
        expect(range.size).toBe(29)
        const entries = await run(log.logEntries(tenant, 0, 29))
        expect(entries.slice(0, 28).map((e) => e.ref)).toEqual(events.map((e) => e.id))
        expect(entries[28]).toMatchObject({ kind: "erasure" })
        expect(JSON.parse(entries[28]!.entry).pseudonym).toBe(events.find((e) => e.erased)!.subject)
        const { note } = await run(ProofLog.checkpoint(store, signer, tenant))
        expect(await run(ProofLog.audit(store, verifier, tenant, note))).toEqual({
          ok: true,
          checkpointSize: 29,
          size: 29,
          events: 28,
        })
        // The migrated log grows from where the backfill left it.
        const kit = createConsentKit({
          policy,
          store,
          secret: "s-0123456789abcdef0123456789abcdef",
          dispatcher: { autoStart: false },
        })
        await kit.record({
          tenant,
          subject: `${tenant}-c1`,
          source: "banner",
          decisions: [{ purpose: "analytics", action: "withdraw", noticeVersion: 2 }],
        })
        await kit.close()
        expect(await run(ProofLog.audit(store, verifier, tenant, note))).toMatchObject({ ok: true, size: 30 })
      }
    } finally {
      await close()
    }
  })
})

describe("crypto-shredding on SQLite", () => {
  it("personal fields are encrypted under a per-subject key the erasure destroys; secure_delete and a truncated WAL leave no trace; requestedBy is a keyed digest", async () => {
    const path = tempSqlite("scrub")
    const { store, close } = await openStore(path)
    const kit = createConsentKit({
      policy,
      store,
      secret: "s-0123456789abcdef0123456789abcdef",
      dispatcher: { autoStart: false },
    })
    const needle = "NEEDLE-evidence-7f3a9c"
    try {
      for (let i = 0; i < 20; i++)
        await kit.record({
          tenant: "scrub",
          subject: `other-${i}`,
          source: "banner",
          decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
        })
      await kit.record({
        tenant: "scrub",
        subject: "mali-7c41e",
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
        evidence: { metadata: { note: needle } },
      })
      const bytes = () =>
        [path, `${path}-wal`]
          .filter((f) => existsSync(f))
          .map((f) => readFileSync(f).toString("latin1"))
          .join("")
      // Encrypted at rest under mali's data key, readable through the store.
      expect(bytes()).not.toContain(needle)
      expect(bytes()).toContain("ck1:")
      const [event] = await Effect.runPromise(store.history("scrub", "mali-7c41e"))
      expect(event?.evidence.metadata).toEqual({ note: needle })
      const keyRows = () =>
        store.db
          .selectFrom("data_key")
          .selectAll()
          .where("tenant", "=", "scrub")
          .where("subject", "=", "mali-7c41e")
          .execute()
      const [key] = await keyRows()
      expect(key?.key_id).toMatch(/^[0-9a-f-]{36}$/)
      const erased = await kit.erase({
        tenant: "scrub",
        subject: "mali-7c41e",
        requestedBy: "dpo@example.com",
      })
      // The erasure destroyed that key and says so; the other subjects keep theirs.
      expect(erased.keyDestroyed).toEqual({ id: key!.key_id, at: erased.requestedAt })
      expect(await keyRows()).toEqual([])
      expect(
        await store.db.selectFrom("data_key").select("subject").where("tenant", "=", "scrub").execute(),
      ).toHaveLength(20)
      expect(bytes()).not.toContain(key!.data_key)
      expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0)
      // Nothing in the file (free pages included) or the WAL names the erased subject any more.
      expect(bytes()).not.toContain("mali-7c41e")
      const status = await kit.erasureStatus("scrub", erased.erasureId)
      expect(status.request.destroyedKey).toEqual(erased.keyDestroyed)
      expect(status.request.requestedBy).toBe(
        await Erasure.requestedByDigest("s-0123456789abcdef0123456789abcdef", "scrub", "dpo@example.com"),
      )
      expect(JSON.stringify(status)).not.toContain("dpo@example.com")
    } finally {
      await kit.close()
      await close()
    }
  })
})
