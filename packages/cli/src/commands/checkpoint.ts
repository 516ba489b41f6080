/**
 * `consentkit checkpoint`: signs the tenant's proof log as a C2SP checkpoint (a signed note)
 * and prints it. The key is an Ed25519 PKCS#8 PEM file (`--key`) or CONSENTKIT_SIGNING_KEY.
 *
 * @since 0.3.0
 */
import { readFileSync } from "node:fs"
import { type Command, required } from "../args.js"
import { UsageError } from "../io.js"
import { openStoreOf } from "../kit.js"
import { signCheckpoint } from "../proof.js"

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
  const pem = keyPem(values.key, io.env)
  const { store, close } = await openStoreOf(values, io)
  try {
    io.stdout.write(await signCheckpoint(store, pem, tenant, values.origin))
    return 0
  } finally {
    await close()
  }
}
