/**
 * Secrets consentkit owns (the kit's secret, unsubscribe and cookie signing keys): refused at
 * construction when they are empty, shorter than 32 bytes or a well-known placeholder, and split
 * into independent keys per use with HKDF, so a key for visitor cookies never signs anything else.
 *
 * @since 0.3.0
 */

/** The fewest bytes (UTF-8) a secret consentkit owns may have. */
export const MIN_BYTES = 32

/** Placeholders from READMEs, tutorials and `.env.example` files, refused whatever their length. */
const WELL_KNOWN = new Set(
  [
    "secret",
    "changeme",
    "change-me",
    "change_me",
    "changethis",
    "change-this",
    "dev-only",
    "devonly",
    "development",
    "password",
    "test",
    "test-secret",
    "default",
    "example",
    "keyboard cat",
    "your-secret-here",
    "your_secret_here",
    "supersecret",
    "super-secret",
    "mysecret",
    "my-secret",
    "replace-me",
    "todo",
    "xxx",
  ].map((s) => s.toLowerCase()),
)

/** A secret that must not be used, with what is wrong with it. */
export class WeakSecret extends Error {
  override readonly name = "WeakSecret"
  constructor(
    readonly secretName: string,
    readonly reason: string,
  ) {
    super(
      `${secretName} ${reason}: use at least ${MIN_BYTES} random bytes kept out of the code, e.g. \`openssl rand -base64 48\` in an environment variable`,
    )
  }
}

const encoder = new TextEncoder()

/** Why a secret is weak, or null when it is acceptable. */
export const weakness = (secret: unknown): string | null => {
  if (typeof secret !== "string" || secret.length === 0) return "is missing or empty"
  const trimmed = secret.trim().toLowerCase()
  if (WELL_KNOWN.has(trimmed)) return `is a well-known placeholder ("${secret}")`
  for (const placeholder of WELL_KNOWN) {
    if (trimmed.replace(/[^a-z]/g, "") === placeholder.replace(/[^a-z]/g, "") && placeholder.length > 3) {
      return `is a well-known placeholder ("${secret}")`
    }
  }
  const bytes = encoder.encode(secret).length
  if (bytes < MIN_BYTES) return `is ${bytes} bytes long`
  if (new Set(secret).size < 8) return "repeats too few characters to be random"
  return null
}

/** Throws `WeakSecret` unless `secret` is acceptable; `name` says which option it is. */
export const assertStrong = (secret: unknown, name: string): string => {
  const reason = weakness(secret)
  if (reason !== null) throw new WeakSecret(name, reason)
  return secret as string
}

/**
 * A 32-byte key for one use, derived from the secret with HKDF-SHA-256 (RFC 5869); `label`
 * names the use (e.g. `"consentkit/http/visitor-cookie"`) and keys of different labels are
 * independent.
 */
export const derive = async (secret: string, label: string): Promise<Uint8Array> => {
  const material = await globalThis.crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, [
    "deriveBits",
  ])
  const bits = await globalThis.crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("consentkit"), info: encoder.encode(label) },
    material,
    256,
  )
  return new Uint8Array(bits)
}
