/**
 * Signed receipts: a command's Kantara consent receipt issued as a compact JWS (RFC 7515,
 * `alg: EdDSA`, RFC 8037) that carries, per decision, the event's log entry, its leaf index and
 * inclusion proof, and the signed checkpoint it is proven against. Anyone with the log's public
 * key checks it offline: the JWS signature, the checkpoint's signature, and each event's path to
 * the checkpoint's root.
 *
 * Node's crypto signs and verifies (no dependency): core depends on `effect` alone, and
 * a compact JWS with one algorithm is a few lines.
 *
 * @since 0.3.0
 */
import { Effect, Schema } from "effect"
import * as Checkpoint from "./Checkpoint.js"
import type { ConsentStoreShape } from "./ConsentStore.js"
import type { StoreError } from "./Errors.js"
import { fromBase64, fromHex, toBase64 } from "./internal/sha256.js"
import * as MerkleLog from "./MerkleLog.js"
import * as ProofLog from "./ProofLog.js"
import type { Receipt } from "./Receipt.js"
import { keyId, type SignError, type SignerShape, type Verifier } from "./Signer.js"

/** One decision's proof: its log entry, leaf index and audit path (hex) in the checkpoint's tree. */
export const DecisionProof = Schema.Struct({
  eventId: Schema.String,
  leafIndex: Schema.Number,
  entry: Schema.String,
  inclusionProof: Schema.Array(Schema.String),
})
/** One decision's proof. */
export type DecisionProof = typeof DecisionProof.Type

/** The proof part of a signed receipt. */
export const ReceiptProof = Schema.Struct({
  /** The signed note (C2SP checkpoint) the proofs lead to. */
  checkpoint: Schema.String,
  treeSize: Schema.Number,
  decisions: Schema.Array(DecisionProof),
})
/** The proof part of a signed receipt. */
export type ReceiptProof = typeof ReceiptProof.Type

const Decision = Schema.Struct({
  purpose: Schema.String,
  action: Schema.String,
  noticeVersion: Schema.Number,
  eventId: Schema.String,
  eventHash: Schema.String,
})

/** What a verifier reads of the payload (the rest of the receipt is carried as is). */
const Payload = Schema.Struct({
  version: Schema.String,
  consentReceiptID: Schema.String,
  ckDecisions: Schema.Array(Decision),
  ckProof: ReceiptProof,
})

const Header = Schema.Struct({ alg: Schema.Literal("EdDSA"), typ: Schema.String, kid: Schema.String })

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const b64url = (bytes: Uint8Array) =>
  toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
const fromB64url = (text: string): Uint8Array | null => {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/")
  return fromBase64(b64 + "=".repeat((4 - (b64.length % 4)) % 4))
}

/** Issuing failed: an event of the receipt is not in the log. */
export class ReceiptUnprovable extends Schema.TaggedError<ReceiptUnprovable>()("ReceiptUnprovable", {
  message: Schema.String,
}) {
  /** The log will not grow the missing entry. */
  readonly isRetryable = false
}

/** Issues a receipt as a JWS, proven against a checkpoint of the tenant's tree as it stands now. */
export const issue = (
  store: ConsentStoreShape,
  signer: SignerShape,
  tenant: string,
  receipt: Receipt,
  origin = Checkpoint.originOf(tenant),
): Effect.Effect<string, StoreError | SignError | ReceiptUnprovable> =>
  Effect.gen(function* () {
    const log = yield* ProofLog.readsOf(store, "issue a signed receipt")
    const { note, checkpoint } = yield* ProofLog.checkpoint(store, signer, tenant, origin)
    const ids = receipt.ckDecisions.map((d) => d.eventId)
    const entries = yield* log.logEntriesOf(tenant, ids)
    const decisions: Array<DecisionProof> = []
    for (const id of ids) {
      const entry = entries.find((e) => e.ref === id && e.kind === "event")
      if (!entry || entry.index >= checkpoint.size)
        return yield* Effect.fail(new ReceiptUnprovable({ message: `event ${id} is not in the log` }))
      const proof = yield* ProofLog.inclusionProof(store, tenant, entry.index, checkpoint.size)
      decisions.push({
        eventId: id,
        leafIndex: entry.index,
        entry: entry.entry,
        inclusionProof: proof.map((h) => Buffer.from(h).toString("hex")),
      })
    }
    const header = {
      alg: "EdDSA",
      typ: "consent-receipt+jws",
      kid: toBase64(keyId(signer.name, signer.publicKey)),
    }
    const payload = { ...receipt, ckProof: { checkpoint: note, treeSize: checkpoint.size, decisions } }
    const input = `${b64url(encoder.encode(JSON.stringify(header)))}.${b64url(encoder.encode(JSON.stringify(payload)))}`
    const signature = yield* signer.sign(encoder.encode(input))
    return `${input}.${b64url(signature)}`
  })

/** What `verify` found. */
export type Verification =
  | {
      readonly ok: true
      readonly receiptId: string
      readonly checkpoint: Checkpoint.Checkpoint
      readonly decisions: ReadonlyArray<{ readonly eventId: string; readonly leafIndex: number }>
    }
  | { readonly ok: false; readonly reason: string }

const decodeJson = <S extends Schema.Top>(schema: S, bytes: Uint8Array | null) => {
  if (!bytes) return null
  try {
    const result = Schema.decodeUnknownExit(schema as never)(JSON.parse(decoder.decode(bytes)))
    return result._tag === "Success" ? (result.value as S["Type"]) : null
  } catch {
    return null
  }
}

/** Checks a signed receipt offline with the log's public key. */
export const verify = (jws: string, verifier: Verifier): Effect.Effect<Verification> =>
  Effect.gen(function* () {
    const fail = (reason: string): Verification => ({ ok: false, reason })
    const parts = jws.trim().split(".")
    if (parts.length !== 3) return fail("not a compact JWS")
    const [h, p, s] = parts as [string, string, string]
    const header = decodeJson(Header, fromB64url(h))
    if (!header) return fail("the JWS header is not EdDSA")
    const signature = fromB64url(s)
    if (!signature || !verifier.verify(encoder.encode(`${h}.${p}`), signature))
      return fail("the JWS signature does not verify with this public key")
    const payload = decodeJson(Payload, fromB64url(p))
    if (!payload) return fail("the payload is not a consentkit receipt with a proof")
    const opened = yield* Effect.result(Checkpoint.open(payload.ckProof.checkpoint, verifier))
    if (opened._tag === "Failure") return fail(`the receipt's checkpoint: ${opened.failure.message}`)
    const cp = opened.success
    if (cp.size !== payload.ckProof.treeSize) return fail("the proof's tree size is not the checkpoint's")
    if (payload.ckDecisions.length === 0) return fail("the receipt proves no decision")
    const decisions: Array<{ eventId: string; leafIndex: number }> = []
    for (const decision of payload.ckDecisions) {
      const proof = payload.ckProof.decisions.find((d) => d.eventId === decision.eventId)
      if (!proof) return fail(`no proof for event ${decision.eventId}`)
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(proof.entry) as Record<string, unknown>
      } catch {
        return fail(`the log entry of event ${decision.eventId} is not JSON`)
      }
      if (
        entry.id !== decision.eventId ||
        entry.hash !== decision.eventHash ||
        entry.action !== decision.action ||
        entry.purpose !== decision.purpose ||
        entry.noticeVersion !== decision.noticeVersion
      )
        return fail(`the log entry of event ${decision.eventId} does not match the receipt's decision`)
      let path: Array<MerkleLog.Hash>
      try {
        path = proof.inclusionProof.map(fromHex)
      } catch {
        return fail(`the inclusion proof of event ${decision.eventId} is not hex`)
      }
      if (!MerkleLog.verifyInclusion(proof.leafIndex, cp.size, ProofLog.leafOf(proof.entry), path, cp.root))
        return fail(`the inclusion proof of event ${decision.eventId} does not lead to the checkpoint's root`)
      decisions.push({ eventId: decision.eventId, leafIndex: proof.leafIndex })
    }
    return { ok: true, receiptId: payload.consentReceiptID, checkpoint: cp, decisions }
  })

/** The key name that signed a receipt's checkpoint (its first signature line), or null: build the verifier with it. */
export const keyNameOf = (jws: string): string | null => {
  const payload = decodeJson(Payload, fromB64url(jws.trim().split(".")[1] ?? ""))
  const note = payload?.ckProof.checkpoint ?? ""
  const signatures = note.slice(note.lastIndexOf("\n\n") + 2)
  return signatures.startsWith("\u2014 ") ? (signatures.slice(2).split(" ")[0] ?? null) : null
}
