import { createConsentKit, InvalidCommand, MemoryStore } from "@consentkit/core"
import { afterAll, describe, expect, it } from "vitest"
import { freshTenant, policy } from "./fixtures.js"

const kit = createConsentKit({
  policy,
  store: MemoryStore.make(),
  secret: "s-0123456789abcdef0123456789abcdef",
  dispatcher: { autoStart: false },
})
afterAll(() => kit.close())

const tenant = freshTenant("cmd")
const valid = {
  tenant,
  subject: "cust-1",
  source: "banner",
  decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 3 }],
}
const decision = (d: Record<string, unknown>) => ({ ...valid, decisions: [{ ...valid.decisions[0], ...d }] })

/** Each malformed command, the error code it must get, and a word its message must contain. */
const malformed: Array<[string, unknown, string, string]> = [
  ["not an object", "grant everything", "MALFORMED", "Expected"],
  ["null", null, "MALFORMED", "Expected"],
  ["missing tenant", { ...valid, tenant: undefined }, "MALFORMED", "tenant"],
  ["tenant with spaces", { ...valid, tenant: "two words" }, "MALFORMED", "tenant"],
  ["empty subject", { ...valid, subject: "" }, "MALFORMED", "subject"],
  ["subject with a control character", { ...valid, subject: "a\u0000b" }, "MALFORMED", "subject"],
  ["subject far too long", { ...valid, subject: "x".repeat(300) }, "MALFORMED", "subject"],
  ["subject as a number", { ...valid, subject: 42 }, "MALFORMED", "subject"],
  ["no decisions", { ...valid, decisions: [] }, "MALFORMED", "decisions"],
  ["decisions not an array", { ...valid, decisions: { purpose: "analytics" } }, "MALFORMED", "decisions"],
  ["unknown purpose", decision({ purpose: "analytcs" }), "UNKNOWN_PURPOSE", "analytcs"],
  ["unknown action", decision({ action: "maybe" }), "MALFORMED", "action"],
  [
    "grant without notice version",
    decision({ noticeVersion: undefined }),
    "MISSING_NOTICE_VERSION",
    "notice version",
  ],
  ["notice version as text", decision({ noticeVersion: "3" }), "MALFORMED", "noticeVersion"],
  ["notice version that does not exist", decision({ noticeVersion: 9 }), "UNKNOWN_NOTICE_VERSION", "9"],
  ["fractional notice version", decision({ noticeVersion: 1.5 }), "MALFORMED", "noticeVersion"],
  [
    "same purpose twice",
    { ...valid, decisions: [valid.decisions[0], valid.decisions[0]] },
    "DUPLICATE_PURPOSE",
    "twice",
  ],
  [
    "timestamp far in the future",
    { ...valid, occurredAt: "2999-01-01T00:00:00Z" },
    "FUTURE_TIMESTAMP",
    "future",
  ],
  ["timestamp before 2000", { ...valid, occurredAt: "1999-12-31T23:59:59Z" }, "TIMESTAMP_TOO_OLD", "2000"],
  ["timestamp that is not a date", { ...valid, occurredAt: "yesterday" }, "MALFORMED", "occurredAt"],
  ["impossible calendar date", { ...valid, occurredAt: "2026-02-31T00:00:00Z" }, "MALFORMED", "occurredAt"],
  [
    "grant under a notice not yet in force",
    { ...valid, occurredAt: "2025-03-01T00:00:00Z" },
    "NOTICE_NOT_EFFECTIVE",
    "takes effect",
  ],
  [
    "oversized evidence",
    { ...valid, evidence: { metadata: { blob: "x".repeat(9000) } } },
    "EVIDENCE_TOO_LARGE",
    "limit",
  ],
  ["evidence of the wrong type", { ...valid, evidence: "signed" }, "MALFORMED", "evidence"],
  ["unknown actor kind", { ...valid, actor: { kind: "robot" } }, "MALFORMED", "actor"],
  ["guardian without an id", { ...valid, actor: { kind: "guardian" } }, "ACTOR_ID_REQUIRED", "guardian"],
  ["operator without an id", { ...valid, actor: { kind: "operator" } }, "ACTOR_ID_REQUIRED", "operator"],
  ["malformed jurisdiction", { ...valid, jurisdiction: "thailand" }, "MALFORMED", "jurisdiction"],
  ["negative age", { ...valid, age: -1 }, "MALFORMED", "age"],
  ["reserved source", { ...valid, source: "gpc" }, "RESERVED_SOURCE", "gpc"],
  ["empty source", { ...valid, source: "" }, "MALFORMED", "source"],
  ["unexpected field", { ...valid, admin: true }, "MALFORMED", "admin"],
  ["empty idempotency key", { ...valid, idempotencyKey: "" }, "MALFORMED", "idempotencyKey"],
]

describe("malformed commands", () => {
  it.each(malformed)(
    "rejects %s with a typed, readable error and writes nothing",
    async (_, command, code, word) => {
      const error = await kit.record(command as never).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(InvalidCommand)
      const invalid = error as InvalidCommand
      expect(invalid._tag).toBe("InvalidCommand")
      expect(invalid.code).toBe(code)
      expect(invalid.issues.some((i) => i.code === code)).toBe(true)
      expect(invalid.message.toLowerCase()).toContain(word.toLowerCase())
      expect(await kit.history(tenant, "cust-1")).toEqual([])
      expect(await kit.state(tenant, "cust-1")).toBeNull()
      expect((await kit.outbox.stats(tenant)).pending).toBe(0)
    },
  )

  it("reports every problem of one command at once", async () => {
    const error = (await kit
      .record({ ...valid, subject: "", decisions: [{ purpose: "nope", action: "grant" }] } as never)
      .catch((e) => e)) as InvalidCommand
    expect(error.issues.map((i) => i.path.join("."))).toEqual(expect.arrayContaining(["subject"]))
  })

  it("accepts the well-formed command after all", async () => {
    const result = await kit.record(valid as never)
    expect(result.events).toHaveLength(1)
  })
})
