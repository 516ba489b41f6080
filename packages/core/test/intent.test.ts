import { Intent } from "@consentkit/core"
import { describe, expect, it } from "vitest"

const sample: Intent.Intent = {
  id: "i1",
  tenant: "t",
  subject: "s",
  kind: "messaging.suppress",
  seq: 4,
  createdAt: new Date("2026-03-01T10:00:00.000Z"),
  purpose: "marketing",
  reason: "withdrawn",
  categories: [],
  channels: ["email"],
  changes: [],
  aliases: [{ kind: "email", value: "a@example.com" }],
  erasureId: null,
  pseudonym: null,
  snapshot: null,
}

describe("Intent on the wire", () => {
  it("round-trips through its JSON schema", () => {
    expect(Intent.decode(Intent.encode(sample))).toEqual(sample)
  })

  it("takes the snapshot's seq, else 0, for intents written before they carried one", () => {
    const { seq: _, ...old } = sample
    expect(Intent.decode(JSON.stringify(old)).seq).toBe(0)
  })

  it("refuses what is not an intent, naming the field", () => {
    expect(() => Intent.decode("[]")).toThrow(/not a consentkit intent/)
    expect(() => Intent.decode(JSON.stringify({ ...sample, kind: "tracking.start" }))).toThrow(/kind/)
    expect(() => Intent.decode(JSON.stringify({ ...sample, reason: "because" }))).toThrow(/reason/)
    expect(() => Intent.decode(JSON.stringify({ ...sample, createdAt: "yesterday" }))).toThrow(
      /not a consentkit intent/,
    )
    expect(() => Intent.decode(JSON.stringify({ ...sample, tenant: "" }))).toThrow(/tenant/)
  })
})
