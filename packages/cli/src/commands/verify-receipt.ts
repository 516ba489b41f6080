/**
 * `consentkit verify-receipt <receipt.jws> --public-key <pem>`: checks a signed receipt offline
 * (no database): the JWS signature, its checkpoint's signature and each event's inclusion proof.
 *
 * @since 0.3.0
 */
import { readFileSync } from "node:fs"
import { SignedReceipt, Signer } from "@consentkit/core"
import { Effect } from "effect"
import { type Command, required } from "../args.js"
import { line, UsageError } from "../io.js"

/** `consentkit verify-receipt`. */
export const verifyReceipt: Command = async (values, positionals, io) => {
  const file = positionals[0]
  if (!file)
    throw new UsageError(
      "verify-receipt needs the receipt file: verify-receipt <receipt.jws> --public-key <pem>",
    )
  const jws = readFileSync(file, "utf8")
  const pem = readFileSync(required(values, "public-key"), "utf8")
  const keyName = SignedReceipt.keyNameOf(jws)
  if (keyName === null) {
    line(io.stdout, "failed: the file is not a consentkit signed receipt")
    return 2
  }
  const result = await Effect.runPromise(SignedReceipt.verify(jws, Signer.verifierFromPem(pem, keyName)))
  if (!result.ok) {
    line(io.stdout, `failed: ${result.reason}`)
    return 2
  }
  line(
    io.stdout,
    `ok: receipt ${result.receiptId}: ${result.decisions.length} decision(s) in log ${result.checkpoint.origin} (leaves ${result.decisions.map((d) => d.leafIndex).join(", ")} of ${result.checkpoint.size})`,
  )
  return 0
}
