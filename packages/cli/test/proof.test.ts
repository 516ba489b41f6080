import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Checkpoint, createConsentKit, SignedReceipt, Signer } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { inProcess } from "./fixtures/run.js"
import { freshTenant, policy } from "./fixtures/policy.js"

describe("consentkit checkpoint, verify --checkpoint, verify-receipt", () => {
  const dir = mkdtempSync(join(tmpdir(), "consentkit-cli-proof-"))
  const db = join(dir, "brand.sqlite")
  const keys = Signer.generatePem()
  const key = join(dir, "log.pem")
  const pub = join(dir, "log.pub.pem")
  writeFileSync(key, keys.privateKey)
  writeFileSync(pub, keys.publicKey)

  it("signs a checkpoint that verify accepts, with the key from --key or CONSENTKIT_SIGNING_KEY", async () => {
    const tenant = freshTenant("cp")
    const { store, close } = await openStore(db)
    const kit = createConsentKit({
      policy,
      store,
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
    await close()
    const signed = await inProcess(["checkpoint", "--db", db, "--tenant", tenant, "--key", key])
    expect(signed.code).toBe(0)
    expect(signed.stdout.split("\n").slice(0, 2)).toEqual([`consentkit/${tenant}`, "1"])
    const fromEnv = await inProcess(["checkpoint", "--db", db, "--tenant", tenant], {
      CONSENTKIT_SIGNING_KEY: keys.privateKey,
    })
    expect(fromEnv.stdout.split("\n").slice(0, 3)).toEqual(signed.stdout.split("\n").slice(0, 3))
    const note = join(dir, `${tenant}.note`)
    writeFileSync(note, signed.stdout)
    const ok = await inProcess([
      "verify",
      "--db",
      db,
      "--tenant",
      tenant,
      "--checkpoint",
      note,
      "--public-key",
      pub,
    ])
    expect(ok).toMatchObject({ code: 0 })
    expect(ok.stdout).toMatch(/^ok: /)
    expect((await inProcess(["checkpoint", "--db", db, "--tenant", tenant])).code).toBe(64)
  })

  it("migrate --key brings a 0.1.0 ledger into the log and signs one checkpoint per tenant, which verify accepts", async () => {
    const legacy = join(dir, "legacy.sqlite")
    copyFileSync(
      new URL("../../storage-kysely/test/fixtures/ledger-0.1.0.sqlite", import.meta.url).pathname,
      legacy,
    )
    const notes = join(dir, "notes")
    const migrated = await inProcess(["migrate", "--db", legacy, "--key", key, "--checkpoints", notes])
    expect(migrated.code).toBe(0)
    expect(migrated.stdout).toContain("applied 0002_proof_log, 0003_guards, 0004_data_keys")
    expect(migrated.stdout).toContain(`signed checkpoint of acme (29 entries): ${notes}/acme.checkpoint`)
    expect(migrated.stdout).toContain("signed checkpoint of globex (29 entries)")
    for (const tenant of ["acme", "globex"]) {
      const ok = await inProcess([
        "verify",
        "--db",
        legacy,
        "--tenant",
        tenant,
        "--checkpoint",
        join(notes, `${tenant}.checkpoint`),
        "--public-key",
        pub,
      ])
      expect(ok).toMatchObject({ code: 0 })
    }
  })

  it("verify-receipt checks a signed receipt offline; a changed byte or another key fails", async () => {
    const tenant = freshTenant("rc")
    const { store, close } = await openStore(db)
    const kit = createConsentKit({
      policy,
      store,
      secret: "s-0123456789abcdef0123456789abcdef",
      dispatcher: { autoStart: false },
    })
    let jws: string
    try {
      const recorded = await kit.record({
        tenant,
        subject: "a",
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
      const signer = await Effect.runPromise(
        Signer.fromPrivateKeyPem(keys.privateKey, Checkpoint.originOf(tenant)),
      )
      jws = await Effect.runPromise(SignedReceipt.issue(store, signer, tenant, recorded.receipt!))
    } finally {
      await kit.close()
      await close()
    }
    const file = join(dir, `${tenant}.jws`)
    writeFileSync(file, jws)
    const ok = await inProcess(["verify-receipt", file, "--public-key", pub])
    expect(ok).toMatchObject({ code: 0 })
    expect(ok.stdout).toMatch(/^ok: receipt .*: 1 decision\(s\) in log consentkit\/.* \(leaves 0 of 1\)/)
    const mid = Math.floor(jws.length / 2)
    const changed = join(dir, `${tenant}.changed.jws`)
    writeFileSync(changed, `${jws.slice(0, mid)}${jws[mid] === "A" ? "B" : "A"}${jws.slice(mid + 1)}`)
    expect((await inProcess(["verify-receipt", changed, "--public-key", pub])).code).toBe(2)
    const otherPub = join(dir, "other.pub.pem")
    writeFileSync(otherPub, Signer.generatePem().publicKey)
    const other = await inProcess(["verify-receipt", file, "--public-key", otherPub])
    expect(other).toMatchObject({ code: 2 })
    expect(other.stdout).toContain("failed: the JWS signature does not verify")
    expect((await inProcess(["verify-receipt", "--public-key", pub])).code).toBe(64)
  })
})
