/**
 * The Signer port: signs checkpoints and receipts with Ed25519. The private key stays with the
 * signer (a PEM file, an environment variable, or a KMS behind the same interface); the store
 * never sees it. Verifiers need only the public key.
 *
 * @since 0.3.0
 */
import { Context, Effect, Layer, Schema } from "effect"
import { nodeCrypto, nodeFs } from "./internal/node.js"
import { sha256 } from "./internal/sha256.js"

/** Signing failed or a key could not be read. */
export class SignError extends Schema.TaggedError<SignError>()("SignError", {
  code: Schema.Literals(["KEY_UNREADABLE", "NOT_ED25519", "SIGN_FAILED", "UNSUPPORTED_RUNTIME"]),
  message: Schema.String,
}) {
  /** A bad key stays bad. */
  readonly isRetryable = false
}

/** What a signer does: Ed25519 signatures under a named key. */
export interface SignerShape {
  /** The key name written in signature lines (C2SP signed-note). */
  readonly name: string
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** Signs bytes; a KMS-backed signer does its round trip here. */
  readonly sign: (message: Uint8Array) => Effect.Effect<Uint8Array, SignError>
}

/** The signer service. */
export class Signer extends Context.Service<Signer, SignerShape>()("@consentkit/core/Signer") {}

/** Checks Ed25519 signatures for one named public key. */
export interface Verifier {
  readonly name: string
  readonly publicKey: Uint8Array
  /** The C2SP key id: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key). */
  readonly keyId: Uint8Array
  readonly verify: (message: Uint8Array, signature: Uint8Array) => boolean
}

const encoder = new TextEncoder()

/** The C2SP signed-note key id of an Ed25519 key. */
export const keyId = (name: string, publicKey: Uint8Array): Uint8Array => {
  const nameBytes = encoder.encode(name)
  const bytes = new Uint8Array(nameBytes.length + 2 + publicKey.length)
  bytes.set(nameBytes)
  bytes[nameBytes.length] = 0x0a
  bytes[nameBytes.length + 1] = 0x01
  bytes.set(publicKey, nameBytes.length + 2)
  return sha256(bytes).slice(0, 4)
}

const requireCrypto = () => {
  const crypto = nodeCrypto()
  if (!crypto) throw new SignError({ code: "UNSUPPORTED_RUNTIME", message: "Ed25519 keys need node:crypto" })
  return crypto
}

const rawPublicKey = (key: import("node:crypto").KeyObject): Uint8Array => {
  if (key.asymmetricKeyType !== "ed25519")
    throw new SignError({ code: "NOT_ED25519", message: `the key is ${key.asymmetricKeyType}, not Ed25519` })
  const jwk = key.export({ format: "jwk" })
  return new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"))
}

/** A signer from an Ed25519 private key in PKCS#8 PEM. */
export const fromPrivateKeyPem = (pem: string, name: string): Effect.Effect<SignerShape, SignError> =>
  Effect.try({
    try: () => {
      const crypto = requireCrypto()
      const privateKey = crypto.createPrivateKey({ key: pem, format: "pem" })
      const publicKey = rawPublicKey(crypto.createPublicKey(privateKey))
      return {
        name,
        publicKey,
        sign: (message: Uint8Array) =>
          Effect.try({
            try: () => new Uint8Array(crypto.sign(null, message, privateKey)),
            catch: (e) => new SignError({ code: "SIGN_FAILED", message: String(e) }),
          }),
      }
    },
    catch: (e) =>
      e instanceof SignError
        ? e
        : new SignError({ code: "KEY_UNREADABLE", message: `cannot read the key: ${e}` }),
  })

/** A verifier from an Ed25519 public key in SPKI PEM (or the private key's PEM, whose public half is used). */
export const verifierFromPem = (pem: string, name: string): Verifier => {
  const crypto = requireCrypto()
  const key = pem.includes("PRIVATE KEY")
    ? crypto.createPublicKey(crypto.createPrivateKey(pem))
    : crypto.createPublicKey({ key: pem, format: "pem" })
  const publicKey = rawPublicKey(key)
  return {
    name,
    publicKey,
    keyId: keyId(name, publicKey),
    verify: (message, signature) => {
      try {
        return signature.length === 64 && crypto.verify(null, message, key, signature)
      } catch {
        return false
      }
    },
  }
}

/** The public key of a signer as SPKI PEM, to hand to verifiers. */
export const publicKeyPem = (publicKey: Uint8Array): string => {
  const crypto = requireCrypto()
  return crypto
    .createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(publicKey).toString("base64url") },
      format: "jwk",
    })
    .export({ format: "pem", type: "spki" })
    .toString()
}

/** A fresh Ed25519 key pair as PEM (PKCS#8 private, SPKI public), for tests and `keygen` scripts. */
export const generatePem = (): { readonly privateKey: string; readonly publicKey: string } => {
  const { privateKey, publicKey } = requireCrypto().generateKeyPairSync("ed25519")
  return {
    privateKey: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicKey: publicKey.export({ format: "pem", type: "spki" }).toString(),
  }
}

/** The Signer from a PKCS#8 PEM string. */
export const layerPem = (pem: string, name: string): Layer.Layer<Signer, SignError> =>
  Layer.effect(Signer, fromPrivateKeyPem(pem, name))

/** The Signer from a PKCS#8 PEM file. */
export const layerFile = (path: string, name: string): Layer.Layer<Signer, SignError> =>
  Layer.effect(
    Signer,
    Effect.try({
      try: () => {
        const fs = nodeFs()
        if (!fs) throw new Error("no file system in this runtime")
        return fs.readFileSync(path, "utf8")
      },
      catch: (e) => new SignError({ code: "KEY_UNREADABLE", message: `cannot read ${path}: ${e}` }),
    }).pipe(Effect.flatMap((pem) => fromPrivateKeyPem(pem, name))),
  )

/** The Signer from an environment variable holding the PKCS#8 PEM (default `CONSENTKIT_SIGNING_KEY`). */
export const layerEnv = (name: string, variable = "CONSENTKIT_SIGNING_KEY"): Layer.Layer<Signer, SignError> =>
  Layer.effect(
    Signer,
    Effect.suspend(() => {
      const pem = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[
        variable
      ]
      return pem
        ? fromPrivateKeyPem(pem.replace(/\\n/g, "\n"), name)
        : Effect.fail(new SignError({ code: "KEY_UNREADABLE", message: `${variable} is not set` }))
    }),
  )
