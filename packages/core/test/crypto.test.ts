import { expect, it } from "vitest"
import { sha256Hex } from "../src/internal/crypto.js"

it("hashes like WebCrypto, whichever implementation runs", async () => {
  for (const text of ["", "consent", "ยกเลิก", "x".repeat(10_000)]) {
    const web = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))
    const expected = [...new Uint8Array(web)].map((b) => b.toString(16).padStart(2, "0")).join("")
    expect(await sha256Hex(text)).toBe(expected)
  }
})
