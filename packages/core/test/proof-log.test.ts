import { createConsentKit, MemoryStore, MerkleLog, ProofLog, SignedReceipt, Signer } from "@consentkit/core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { policy } from "./fixtures.js"

const keys = Signer.generatePem()
const signer = Effect.runSync(Signer.fromPrivateKeyPem(keys.privateKey, "memory-log"))
const verifier = Signer.verifierFromPem(keys.publicKey, "memory-log")
const run = Effect.runPromise
const grant = { purpose: "analytics", action: "grant", noticeVersion: 3 } as const

describe("the proof log on the reference (memory) store", () => {
  it("logs events in commit order across concurrent subjects; checkpoints audit ok as the log grows and after an erasure", async () => {
    const store = MemoryStore.make()
    const kit = createConsentKit({
      policy,
      store,
      secret: "s-0123456789abcdef0123456789abcdef",
      dispatcher: { autoStart: false },
    })
    try {
      await Promise.all(
        ["a", "b", "c", "d"].map((subject) =>
          kit.record({ tenant: "t", subject, source: "banner", decisions: [grant] }),
        ),
      )
      const first = await run(ProofLog.checkpoint(store, signer, "t"))
      expect(first.checkpoint.size).toBe(4)
      expect(await run(ProofLog.audit(store, verifier, "t", first.note))).toEqual({
        ok: true,
        checkpointSize: 4,
        size: 4,
        events: 4,
      })
      const withdrawn = await kit.record({
        tenant: "t",
        subject: "b",
        source: "banner",
        decisions: [{ ...grant, action: "withdraw" }],
      })
      await kit.erase({ tenant: "t", subject: "c" })
      expect(await run(ProofLog.audit(store, verifier, "t", first.note))).toMatchObject({ ok: true, size: 6 })
      const entries = await run(store.log!.logEntries("t", 0, 6))
      expect(entries.map((e) => e.kind)).toEqual(["event", "event", "event", "event", "event", "erasure"])
      const second = await run(ProofLog.checkpoint(store, signer, "t"))
      const proof = await run(ProofLog.consistencyProof(store, "t", 4, 6))
      expect(MerkleLog.verifyConsistency(4, 6, first.checkpoint.root, second.checkpoint.root, proof)).toBe(
        true,
      )
      const byId = await run(ProofLog.proveEventById(store, "t", withdrawn.eventIds[0]!, 6))
      expect(byId).toMatchObject({ index: 4, size: 6 })
      expect(ProofLog.verifyEventProof(byId, second.checkpoint.root)).toBe(true)
      expect(ProofLog.verifyEventProof(byId, first.checkpoint.root)).toBe(false)
      const jws = await run(SignedReceipt.issue(store, signer, "t", withdrawn.receipt!))
      expect(await run(SignedReceipt.verify(jws, verifier))).toMatchObject({
        ok: true,
        decisions: [{ leafIndex: 4 }],
      })
      // Another tenant's checkpoint does not vouch for this log.
      const other = await run(ProofLog.checkpoint(store, signer, "other"))
      expect(await run(ProofLog.audit(store, verifier, "t", other.note))).toMatchObject({
        ok: false,
        problem: { kind: "signature" },
      })
    } finally {
      await kit.close()
    }
  })

  it("a kit with a receiptSigner returns each command's receipt as a verifiable JWS", async () => {
    const store = MemoryStore.make()
    const kit = createConsentKit({
      policy,
      store,
      secret: "s-0123456789abcdef0123456789abcdef",
      receiptSigner: signer,
      dispatcher: { autoStart: false },
    })
    try {
      await kit.record({ tenant: "t", subject: "a", source: "banner", decisions: [grant] })
      const second = await kit.record({ tenant: "t", subject: "b", source: "banner", decisions: [grant] })
      expect(second.signedReceipt).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/))
      expect(await run(SignedReceipt.verify(second.signedReceipt!, verifier))).toMatchObject({
        ok: true,
        receiptId: second.commandId,
        checkpoint: { size: 2 },
        decisions: [{ leafIndex: 1 }],
      })
      const plain = createConsentKit({
        policy,
        store,
        secret: "s-0123456789abcdef0123456789abcdef",
        dispatcher: { autoStart: false },
      })
      expect(
        (await plain.record({ tenant: "t", subject: "c", source: "banner", decisions: [grant] }))
          .signedReceipt,
      ).toBeUndefined()
      await plain.close()
    } finally {
      await kit.close()
    }
  })

  it("a failed transaction leaves nothing in the log", async () => {
    const store = MemoryStore.make()
    const failed = await run(
      Effect.result(
        store.withSubject("t", "x", (tx) =>
          Effect.gen(function* () {
            yield* tx.log!.appendLog((range) => ProofLog.buildAppend(range, []))
            return yield* Effect.fail("boom")
          }),
        ),
      ),
    )
    expect(failed._tag).toBe("Failure")
    expect((await run(store.log!.logRange("t"))).size).toBe(0)
  })
})
