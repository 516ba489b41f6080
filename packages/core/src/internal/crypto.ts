const encoder = new TextEncoder()

const hex = (buffer: ArrayBuffer): string => {
  const bytes = new Uint8Array(buffer)
  let out = ""
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, "0")
  return out
}

type NodeHash = (algorithm: string) => {
  update(data: string, encoding: "utf8"): { digest(encoding: "hex"): string }
}

// On Node, node:crypto hashes a short string about ten times faster than WebCrypto's async
// digest, and the write path hashes twice per event. The specifier is a variable so browser and
// edge bundlers leave it alone; elsewhere WebCrypto does the same job.
const nodeHash: Promise<NodeHash | undefined> =
  typeof process !== "undefined" && typeof process.versions?.node === "string"
    ? import(/* @vite-ignore */ ["node", "crypto"].join(":")).then(
        (m: { createHash: NodeHash }) => m.createHash,
        () => undefined,
      )
    : Promise.resolve(undefined)

/** SHA-256 as lowercase hex: node:crypto on Node, WebCrypto in browsers and edge runtimes. */
export const sha256Hex = async (text: string): Promise<string> => {
  const createHash = await nodeHash
  if (createHash) return createHash("sha256").update(text, "utf8").digest("hex")
  return hex(await globalThis.crypto.subtle.digest("SHA-256", encoder.encode(text)))
}

/** HMAC-SHA-256 as lowercase hex: the keyed hash behind pseudonyms and signed tokens. */
export const hmacSha256Hex = async (key: string, text: string): Promise<string> => {
  const cryptoKey = await globalThis.crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  )
  return hex(await globalThis.crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(text)))
}

/** A random id (UUID v4) from WebCrypto. */
export const randomId = (): string => globalThis.crypto.randomUUID()

/** 16 random bytes as hex, used as the per-event salt of the personal-data digest. */
export const randomSalt = (): string => {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  return hex(bytes.buffer)
}
