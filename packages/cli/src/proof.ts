/**
 * The proof commands' work over an open store, for programs that hold one (an in-process
 * PGlite, a test) as well as for the command line.
 *
 * @since 0.3.0
 */
import { Checkpoint, type ConsentStore, ProofLog, Signer } from "@consentkit/core"
import { Effect } from "effect"

/** Signs the tenant's log with an Ed25519 PKCS#8 PEM: the signed note `consentkit checkpoint` prints. */
export const signCheckpoint = async (
  store: ConsentStore.ConsentStoreShape,
  privateKeyPem: string,
  tenant: string,
  origin = Checkpoint.originOf(tenant),
): Promise<string> => {
  const signer = await Effect.runPromise(Signer.fromPrivateKeyPem(privateKeyPem, origin))
  return (await Effect.runPromise(ProofLog.checkpoint(store, signer, tenant, origin))).note
}

/** Audits the store against a signed note: the exit code and the line `consentkit verify --checkpoint` prints. */
export const auditReport = async (
  store: ConsentStore.ConsentStoreShape,
  tenant: string,
  note: string,
  publicKeyPem: string,
  origin = Checkpoint.originOf(tenant),
): Promise<{ readonly code: 0 | 2; readonly line: string }> => {
  const verifier = Signer.verifierFromPem(publicKeyPem, origin)
  const result = await Effect.runPromise(ProofLog.audit(store, verifier, tenant, note, origin))
  return result.ok
    ? {
        code: 0,
        line: `ok: the log holds the checkpoint's ${result.checkpointSize} entries (now ${result.size}); ${result.events} events match their leaves`,
      }
    : { code: 2, line: `failed: ${result.problem.kind}: ${result.problem.message}` }
}
