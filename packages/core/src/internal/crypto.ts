const encoder = new TextEncoder()

const hex = (buffer: ArrayBuffer): string => {
  const bytes = new Uint8Array(buffer)
  let out = ""
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, "0")
  return out
}

/** SHA-256 as lowercase hex, through WebCrypto so it runs in Node, browsers and edge runtimes. */
export const sha256Hex = async (text: string): Promise<string> =>
  hex(await globalThis.crypto.subtle.digest("SHA-256", encoder.encode(text)))

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
