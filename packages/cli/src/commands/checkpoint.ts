/**
 * `consentkit checkpoint`: signs the tenant's proof log as a C2SP checkpoint (a signed note)
 * and prints it. The key is an Ed25519 PKCS#8 PEM file (`--key`) or CONSENTKIT_SIGNING_KEY.
 *
 * @since 0.3.0
 */
import { readFileSync } from "node:fs"
import { Checkpoint, ProofLog, Signer } from "@consentkit/core"
import { Effect } from "effect"
import { type Command, required } from "../args.js"
import { UsageError } from "../io.js"
import { openStoreOf } from "../kit.js"

/** The PEM named by `--key`, or the environment's. */
const keyPem = (path: string | undefined, env: NodeJS.ProcessEnv): string => {
  if (path !== undefined) return readFileSync(path, "utf8")
  const pem = env.CONSENTKIT_SIGNING_KEY
  if (!pem) throw new UsageError("--key <ed25519-pkcs8.pem> (or CONSENTKIT_SIGNING_KEY) is required")
  return pem.replace(/\\n/g, "\n")
}

/** `consentkit checkpoint`. */
export const checkpoint: Command = async (values, _, io) => {
  const tenant = required(values, "tenant")
  const origin = values.origin ?? Checkpoint.originOf(tenant)
  const signer = await Effect.runPromise(Signer.fromPrivateKeyPem(keyPem(values.key, io.env), origin))
  const { store, close } = await openStoreOf(values, io)
  try {
    const { note } = await Effect.runPromise(ProofLog.checkpoint(store, signer, tenant, origin))
    io.stdout.write(note)
    return 0
  } finally {
    await close()
  }
}
