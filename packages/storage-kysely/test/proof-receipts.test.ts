import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  Checkpoint,
  CheckpointSink,
  createConsentKit,
  MerkleLog,
  ProofLog,
  SignedReceipt,
  Signer,
} from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { dialects, tempSqlite } from "./dialects.js"
import { freshTenant, policy } from "./fixtures/policy.js"

const keys = Signer.generatePem()
const signer = Effect.runSync(Signer.fromPrivateKeyPem(keys.privateKey, "test-log"))
const verifier = Signer.verifierFromPem(keys.publicKey, "test-log")
const run = Effect.runPromise

describe("signed receipts (sqlite)", () => {
  let opened: Awaited<ReturnType<typeof openStore>>
  beforeAll(async () => {
    opened = await openStore(tempSqlite("receipts"))
  }, 60_000)
  afterAll(async () => {
    await opened?.close()
  })

  it("a command's receipt as a JWS verifies offline with the public key; any changed character fails", async () => {
    const kit = createConsentKit({
      policy,
      store: opened.store,
      secret: "s-0123456789abcdef0123456789abcdef",
      dispatcher: { autoStart: false },
    })
    const tenant = freshTenant("jws")
    try {
      await kit.record({
        tenant,
        subject: "zed",
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
      const recorded = await kit.record({
        tenant,
        subject: "amy",
        source: "banner",
        decisions: [
          { purpose: "analytics", action: "grant", noticeVersion: 2 },
          { purpose: "marketing", action: "deny", noticeVersion: 1 },
        ],
      })
      const jws = await run(SignedReceipt.issue(opened.store, signer, tenant, recorded.receipt!))
      const keyName = SignedReceipt.keyNameOf(jws)
      expect(keyName).toBe("test-log")
      const offline = Signer.verifierFromPem(keys.publicKey, keyName!)
      const result = await run(SignedReceipt.verify(jws, offline))
      expect(result).toMatchObject({
        ok: true,
        checkpoint: { size: 3 },
        decisions: [{ leafIndex: 1 }, { leafIndex: 2 }],
      })
      const [header, payload] = jws
        .split(".")
        .slice(0, 2)
        .map((part) => JSON.parse(Buffer.from(part, "base64url").toString()))
      expect(header).toMatchObject({ alg: "EdDSA" })
      expect(payload).toMatchObject({
        version: "KI-CR-v1.1.0",
        piiPrincipalId: "amy",
        ckProof: { treeSize: 3 },
      })

      // The log grows: the receipt still verifies against the checkpoint it carries.
      await kit.record({
        tenant,
        subject: "amy",
        source: "banner",
        decisions: [{ purpose: "analytics", action: "withdraw", noticeVersion: 2 }],
      })
      expect((await run(SignedReceipt.verify(jws, offline))).ok).toBe(true)

      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
      for (let at = 0; at < jws.length; at += Math.max(1, Math.floor(jws.length / 300))) {
        if (jws[at] === ".") continue
        const swapped = alphabet[(alphabet.indexOf(jws[at]!) + 1) % alphabet.length]!
        const changed = `${jws.slice(0, at)}${swapped}${jws.slice(at + 1)}`
        expect((await run(SignedReceipt.verify(changed, offline))).ok, `character ${at}`).toBe(false)
      }
      const last = `${jws.slice(0, -1)}${alphabet[(alphabet.indexOf(jws.at(-1)!) + 1) % 64]}`
      expect((await run(SignedReceipt.verify(last, offline))).ok).toBe(false)
      const stranger = Signer.verifierFromPem(Signer.generatePem().publicKey, keyName!)
      expect(await run(SignedReceipt.verify(jws, stranger))).toMatchObject({
        ok: false,
        reason: "the JWS signature does not verify with this public key",
      })
    } finally {
      await kit.close()
    }
  })
})

describe("the dispatcher publishes checkpoints to a sink (sqlite)", () => {
  it("writes a signed note per tenant as the log grows; each verifies and any two are consistent", async () => {
    const { store, close } = await openStore(
      dialects()
        .find((d) => d.name === "sqlite")
        ?.url() ?? ":memory:",
    )
    const dir = mkdtempSync(join(tmpdir(), "consentkit-sink-"))
    const tenant = freshTenant("sink")
    const kit = createConsentKit({
      policy,
      store,
      secret: "s-0123456789abcdef0123456789abcdef",
      dispatcher: {
        checkpoints: { signer, sink: CheckpointSink.fileSink(dir), tenants: [tenant], every: "20 millis" },
      },
    })
    const history = join(dir, `${encodeURIComponent(tenant)}.checkpoints`)
    // The history file is one signed note after another, each followed by a blank line.
    const notes = () =>
      existsSync(history)
        ? (readFileSync(history, "utf8").match(/^[^\n]+\n\d+\n[^\n]+\n\n(?:\u2014 [^\n]+\n)+/gm) ?? [])
        : []
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 20))
      expect(done()).toBe(true)
    }
    try {
      await kit.record({
        tenant,
        subject: "p",
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
      await until(() => notes().length >= 1)
      await kit.record({
        tenant,
        subject: "q",
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
      })
      await until(() => notes().length >= 2)
      const [first, second] = notes()
      const a = await run(Checkpoint.open(first!, verifier))
      const b = await run(Checkpoint.open(second!, verifier))
      expect([a.size, b.size]).toEqual([1, 2])
      const proof = await run(ProofLog.consistencyProof(store, tenant, 1, 2))
      expect(MerkleLog.verifyConsistency(1, 2, a.root, b.root, proof)).toBe(true)
      const latest = readFileSync(join(dir, `${encodeURIComponent(tenant)}.checkpoint`), "utf8")
      expect(await run(ProofLog.audit(store, verifier, tenant, latest))).toMatchObject({ ok: true, size: 2 })
    } finally {
      await kit.close()
      await close()
    }
  })
})
