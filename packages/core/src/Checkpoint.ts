/**
 * Checkpoints of a tenant's Merkle log in the C2SP tlog-checkpoint format, signed as a C2SP
 * signed note: the body is the origin line, the tree size in decimal and the base64 root hash,
 * each ending in a newline; after a blank line come signature lines
 * `— <key name> base64(key id ‖ Ed25519 signature)`.
 *
 * @since 0.3.0
 */
import { Effect, Schema } from "effect"
import { fromBase64, toBase64 } from "./internal/sha256.js"
import type * as MerkleLog from "./MerkleLog.js"
import { keyId, type SignError, type SignerShape, type Verifier } from "./Signer.js"

/** What a checkpoint commits to. */
export interface Checkpoint {
  /** The log's unique name, e.g. `example.com/consentkit/acme`. */
  readonly origin: string
  readonly size: number
  readonly root: MerkleLog.Hash
}

/** Why a note or checkpoint was refused. */
export class CheckpointInvalid extends Schema.TaggedError<CheckpointInvalid>()("CheckpointInvalid", {
  code: Schema.Literals(["MALFORMED", "NO_SIGNATURE", "BAD_SIGNATURE", "WRONG_ORIGIN"]),
  message: Schema.String,
}) {
  /** A bad checkpoint stays bad. */
  readonly isRetryable = false
}

const encoder = new TextEncoder()
const DASH = "\u2014 "

/** The default origin of a tenant's log. */
export const originOf = (tenant: string, prefix = "consentkit"): string => `${prefix}/${tenant}`

/** The checkpoint body (the text the signatures cover). */
export const format = (checkpoint: Checkpoint): string => {
  if (!checkpoint.origin || /[\n\r]/.test(checkpoint.origin))
    throw new TypeError("origin must be one non-empty line")
  return `${checkpoint.origin}\n${checkpoint.size}\n${toBase64(checkpoint.root)}\n`
}

const malformed = (message: string) => new CheckpointInvalid({ code: "MALFORMED", message })

/** Parses a checkpoint body (extension lines after the root are allowed and ignored). */
export const parse = (body: string): Effect.Effect<Checkpoint, CheckpointInvalid> =>
  Effect.suspend(() => {
    const lines = body.split("\n")
    if (lines.length < 4 || lines[lines.length - 1] !== "")
      return Effect.fail(
        malformed("a checkpoint has an origin, a size and a root hash, each on its own line"),
      )
    const [origin, sizeText, rootText] = lines as [string, string, string]
    if (!origin) return Effect.fail(malformed("the origin line is empty"))
    if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
      return Effect.fail(malformed(`the tree size "${sizeText}" is not a decimal number`))
    const root = fromBase64(rootText)
    if (root?.length !== 32) return Effect.fail(malformed("the root hash is not 32 bytes of standard base64"))
    return Effect.succeed({ origin, size: Number(sizeText), root })
  })

/** Signs a checkpoint: the signed note, ready to publish. */
export const sign = (checkpoint: Checkpoint, signer: SignerShape): Effect.Effect<string, SignError> =>
  Effect.gen(function* () {
    const body = format(checkpoint)
    const signature = yield* signer.sign(encoder.encode(body))
    const id = keyId(signer.name, signer.publicKey)
    const blob = new Uint8Array(4 + signature.length)
    blob.set(id)
    blob.set(signature, 4)
    return `${body}\n${DASH}${signer.name} ${toBase64(blob)}\n`
  })

/**
 * Opens a signed note: the checkpoint, when a signature line by `verifier` (same name and key
 * id) verifies over the body. Lines by other keys are ignored, as signed-note readers do.
 */
export const open = (
  note: string,
  verifier: Verifier,
  expectedOrigin?: string,
): Effect.Effect<Checkpoint, CheckpointInvalid> =>
  Effect.gen(function* () {
    const split = note.lastIndexOf("\n\n")
    if (split < 0 || !note.endsWith("\n"))
      return yield* Effect.fail(malformed("the note has no signature block"))
    const body = note.slice(0, split + 1)
    const signatureLines = note.slice(split + 2, -1).split("\n")
    let found = false
    for (const line of signatureLines) {
      if (!line.startsWith(DASH)) return yield* Effect.fail(malformed(`"${line}" is not a signature line`))
      const [name, blobText, ...rest] = line.slice(DASH.length).split(" ")
      const blob = fromBase64(blobText ?? "")
      if (!name || !blob || rest.length > 0 || blob.length < 5)
        return yield* Effect.fail(malformed(`"${line}" is not a signature line`))
      const id = blob.slice(0, 4)
      if (name !== verifier.name || id.some((b, i) => b !== verifier.keyId[i])) continue
      found = true
      if (verifier.verify(encoder.encode(body), blob.slice(4))) {
        const checkpoint = yield* parse(body)
        if (expectedOrigin !== undefined && checkpoint.origin !== expectedOrigin)
          return yield* Effect.fail(
            new CheckpointInvalid({
              code: "WRONG_ORIGIN",
              message: `the checkpoint is of log "${checkpoint.origin}", not "${expectedOrigin}"`,
            }),
          )
        return checkpoint
      }
    }
    return yield* Effect.fail(
      found
        ? new CheckpointInvalid({
            code: "BAD_SIGNATURE",
            message: `the signature by "${verifier.name}" does not verify`,
          })
        : new CheckpointInvalid({
            code: "NO_SIGNATURE",
            message: `the note carries no signature by key "${verifier.name}" (${toBase64(verifier.keyId)})`,
          }),
    )
  })
