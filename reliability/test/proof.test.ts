import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Client, createConsentKit, Signer } from "@consentkit/core"
import { sql } from "kysely"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { type DialectName, openTestDatabase, PG_URL, type TestDatabase } from "./support/db.js"
import { decisions, type Purpose, policy, SECRET, uniqueTenant } from "./support/policy.js"
import { dropGuards, fileWith, proofCli, rebuildLog, resealChain, tenantRows } from "./support/proof.js"

const dir = mkdtempSync(join(tmpdir(), "consentkit-proof-"))
const keys = Signer.generatePem()
const otherKeys = Signer.generatePem()
const key = fileWith(join(dir, "log.pem"), keys.privateKey)
const publicKey = fileWith(join(dir, "log.pub.pem"), keys.publicKey)
const SERIAL = ["event.row_id", "outbox.id", "command.id"]
const otherKey = fileWith(join(dir, "other.pem"), otherKeys.privateKey)

// SQLite, and PostgreSQL: the server when CONSENTKIT_PG_URL is set, else PGlite in process.
const PROOF_DIALECTS: ReadonlyArray<DialectName> = ["sqlite", PG_URL !== undefined ? "postgres" : "pglite"]

for (const name of PROOF_DIALECTS) {
  describe(`verify --checkpoint against a rewritten store (${name})`, () => {
    let database: TestDatabase
    let alternative: TestDatabase
    let kit: Client<Purpose>
    beforeAll(async () => {
      database = await openTestDatabase(name)
      alternative = await openTestDatabase(name)
      // Every rewrite below is done as a database writer without the signing key: the guard triggers go first.
      expect(await dropGuards(database)).toBe(7)
      kit = createConsentKit({
        policy,
        store: database.store,
        secret: SECRET,
        dispatcher: { autoStart: false },
      })
    }, 60_000)
    afterAll(async () => {
      await kit?.close()
      await database?.dispose()
      await alternative?.dispose()
    })

    const db = (d: TestDatabase = database) => ["--db", d.url, "--prefix", d.prefix]
    /** A tenant with three subjects' histories and a signed checkpoint of it. */
    const signedTenant = async (label: string, over: Client<Purpose> = kit, d: TestDatabase = database) => {
      const tenant = uniqueTenant(label)
      for (const subject of ["alice", "bob", "carol"]) {
        await over.record(decisions(tenant, subject, "grant", ["analytics", "marketing"]))
        await over.record(
          decisions(tenant, subject, "withdraw", ["analytics"], { evidence: { via: "footer" } }),
        )
      }
      const signed = await proofCli(d)(["checkpoint", ...db(d), "--tenant", tenant, "--key", key])
      expect(signed).toMatchObject({ code: 0, stderr: "" })
      const checkpoint = fileWith(join(dir, `${tenant}.note`), signed.stdout)
      return { tenant, checkpoint, note: signed.stdout }
    }
    const verify = (tenant: string, checkpoint: string, pem = publicKey) =>
      proofCli(database)([
        "verify",
        ...db(),
        "--tenant",
        tenant,
        "--checkpoint",
        checkpoint,
        "--public-key",
        pem,
      ])
    const run = (query: ReturnType<typeof sql>) => query.execute(database.db)
    const event = () => database.table("event")
    const withdrawalOf = async (tenant: string, subject: string) =>
      (
        await sql<{
          id: string
        }>`select id from ${event()} where tenant = ${tenant} and subject = ${subject} and action = 'withdraw'`.execute(
          database.db,
        )
      ).rows[0]!.id

    test("the untouched log verifies, and so does the grown one (new events and an erasure)", async () => {
      const { tenant, checkpoint, note } = await signedTenant("intact")
      expect(note.split("\n").slice(0, 2)).toEqual([`consentkit/${tenant}`, "9"])
      const intact = await verify(tenant, checkpoint)
      expect(intact).toMatchObject({ code: 0 })
      expect(intact.stdout).toMatch(/^ok: the log holds the checkpoint's 9 entries \(now 9\)/)
      await kit.record(decisions(tenant, "dave", "grant", ["marketing.email"]))
      await kit.erase({ tenant, subject: "bob" })
      const grown = await verify(tenant, checkpoint)
      expect(grown).toMatchObject({ code: 0 })
      expect(grown.stdout).toContain("(now 11)")
    })

    test("a withdrawal changed into a grant fails, with the subject's chain recomputed too", async () => {
      const { tenant, checkpoint } = await signedTenant("rewrite")
      const id = await withdrawalOf(tenant, "bob")
      await run(sql`update ${event()} set action = 'grant' where id = ${id}`)
      await resealChain(database, tenant, "bob")
      const result = await verify(tenant, checkpoint)
      expect(result.code).toBe(2)
      expect(result.stdout).toContain(`failed: entry: log entry 5: event ${id}`)
    })

    test("a rewritten history with the whole log rebuilt to match fails the consistency check", async () => {
      const { tenant, checkpoint } = await signedTenant("rebuilt")
      await run(sql`update ${event()} set action = 'grant' where id = ${await withdrawalOf(tenant, "alice")}`)
      await resealChain(database, tenant, "alice")
      await rebuildLog(database, tenant)
      const result = await verify(tenant, checkpoint)
      expect(result.code).toBe(2)
      expect(result.stdout).toMatch(
        /^failed: consistency: the log's first 9 entries do not hash to the checkpoint's root/,
      )
    })

    test("the newest event deleted and the subject's head moved back fails", async () => {
      const { tenant, checkpoint } = await signedTenant("newest")
      const id = await withdrawalOf(tenant, "carol")
      await run(sql`delete from ${event()} where id = ${id}`)
      await resealChain(database, tenant, "carol")
      const result = await verify(tenant, checkpoint)
      expect(result.code).toBe(2)
      expect(result.stdout).toContain(
        `failed: missing-event: log entry 8: event ${id} is missing from the ledger`,
      )
    })

    test("a truncated ledger and log (newest entries deleted, the log head rebuilt) fails", async () => {
      const { tenant, checkpoint } = await signedTenant("truncated")
      const id = await withdrawalOf(tenant, "carol")
      await run(sql`delete from ${event()} where id = ${id}`)
      await resealChain(database, tenant, "carol")
      await rebuildLog(database, tenant)
      const result = await verify(tenant, checkpoint)
      expect(result.code).toBe(2)
      expect(result.stdout).toMatch(
        /^failed: truncated: the log has 8 entries, fewer than the checkpoint's 9/,
      )
    })

    test("`erased` flipped on an event (outside the chain hash) fails", async () => {
      const { tenant, checkpoint } = await signedTenant("flip")
      const id = await withdrawalOf(tenant, "alice")
      await run(sql`update ${event()} set erased = 1 where id = ${id}`)
      const result = await verify(tenant, checkpoint)
      expect(result.code).toBe(2)
      expect(result.stdout).toContain(`failed: entry: log entry 2: event ${id}`)
    })

    test("every row of a subject deleted fails", async () => {
      const { tenant, checkpoint } = await signedTenant("subject")
      for (const table of ["event", "state", "subject", "command", "outbox"])
        await run(sql`delete from ${database.table(table)} where tenant = ${tenant} and subject = 'bob'`)
      const result = await verify(tenant, checkpoint)
      expect(result.code).toBe(2)
      expect(result.stdout).toMatch(
        /^failed: missing-event: log entry 3: event .* is missing from the ledger/,
      )
    })

    test("a whole alternative history written by consentkit itself and swapped in fails", async () => {
      const { tenant, checkpoint } = await signedTenant("swap")
      // The same tenant and subjects, recorded for real by consentkit in another database, then copied over.
      const otherKit = createConsentKit({
        policy,
        store: alternative.store,
        secret: SECRET,
        dispatcher: { autoStart: false },
      })
      try {
        for (const subject of ["alice", "bob", "carol"]) {
          await otherKit.record(decisions(tenant, subject, "grant", ["analytics", "marketing"]))
          await otherKit.record(decisions(tenant, subject, "grant", ["marketing.email"]))
        }
      } finally {
        await otherKit.close()
      }
      for (const table of [
        "event",
        "state",
        "subject",
        "command",
        "outbox",
        "log_entry",
        "log_node",
        "log_head",
      ]) {
        const rows = await tenantRows(alternative, table, tenant)
        await run(sql`delete from ${database.table(table)} where tenant = ${tenant}`)
        for (const row of rows) {
          // Serial keys are the database's own: the copies take fresh ones, in the same order.
          const columns = Object.keys(row).filter((c) => !SERIAL.includes(`${table}.${c}`))
          await run(
            sql`insert into ${database.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))}) values (${sql.join(columns.map((c) => row[c]))})`,
          )
        }
      }
      // consentkit's own chain check finds nothing wrong with the swapped-in history...
      expect(await proofCli(database)(["verify", ...db(), "--tenant", tenant])).toMatchObject({ code: 0 })
      // ...the signed checkpoint does.
      const result = await verify(tenant, checkpoint)
      expect(result.code).toBe(2)
      expect(result.stdout).toMatch(/^failed: consistency: /)
    })

    test("an edited checkpoint fails: size, root hash", async () => {
      const { tenant, note } = await signedTenant("edited")
      const smaller = fileWith(join(dir, `${tenant}.size`), note.replace(/\n9\n/, "\n8\n"))
      const size = await verify(tenant, smaller)
      expect(size.code).toBe(2)
      expect(size.stdout).toMatch(/^failed: signature: the signature by "consentkit\/.*" does not verify/)
      const lines = note.split("\n")
      const root = Buffer.from(lines[2]!, "base64")
      root[0] = root[0]! ^ 1
      lines[2] = root.toString("base64")
      const edited = await verify(tenant, fileWith(join(dir, `${tenant}.root`), lines.join("\n")))
      expect(edited.code).toBe(2)
      expect(edited.stdout).toMatch(/^failed: signature: /)
    })

    test("a checkpoint signed by another key fails, and so does checking with another public key", async () => {
      const { tenant, checkpoint } = await signedTenant("otherkey")
      const forged = await proofCli(database)(["checkpoint", ...db(), "--tenant", tenant, "--key", otherKey])
      expect(forged.code).toBe(0)
      const result = await verify(tenant, fileWith(join(dir, `${tenant}.forged`), forged.stdout))
      expect(result.code).toBe(2)
      expect(result.stdout).toMatch(/^failed: signature: the note carries no signature by key/)
      const wrongPub = fileWith(join(dir, "other.pub.pem"), otherKeys.publicKey)
      expect((await verify(tenant, checkpoint, wrongPub)).code).toBe(2)
      // A checkpoint of another tenant's log, signed by the right key, does not vouch for this one.
      const { checkpoint: elsewhere } = await signedTenant("elsewhere")
      const crossed = await verify(tenant, elsewhere)
      expect(crossed.code).toBe(2)
      expect(crossed.stdout).toMatch(
        /^failed: signature: the note carries no signature by key "consentkit\/rel-otherkey-/,
      )
    })
  })
}
