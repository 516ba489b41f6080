import { readFileSync } from "node:fs"
import {
  ConsentKit,
  ConsentStore,
  createConsentKit,
  Decision,
  Dispatcher,
  type Intent,
  MemoryStore,
  Messenger,
  Tracker,
} from "@consentkit/core"
import AjvDraft04 from "ajv-draft-04"
import { Effect, Layer, PubSub } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { freshTenant, policy } from "./fixtures.js"

const schema = JSON.parse(
  readFileSync(new URL("./fixtures/kantara-consent-receipt-v1_1.schema.json", import.meta.url), "utf8"),
)
const validateReceipt = new AjvDraft04.default({ allErrors: true, strict: false }).compile(schema)

const kits: Array<{ close: () => Promise<void> }> = []
afterAll(async () => {
  for (const k of kits) await k.close()
})

const newKit = (options: Partial<Parameters<typeof createConsentKit>[0]> = {}) => {
  const kit = createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "test-secret-0123456789abcdef0123456789abcdef",
    dispatcher: { autoStart: false },
    ...options,
  })
  kits.push(kit)
  return kit
}

describe("receipts", () => {
  it("yields a Kantara Consent Receipt v1.1 for every recorded command, valid against the schema", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    const commands = [
      {
        tenant,
        subject: "c1",
        source: "banner",
        decisions: [
          { purpose: "analytics", action: "grant", noticeVersion: 3 },
          { purpose: "marketing.email", action: "deny" },
        ],
        evidence: { locale: "th-TH" },
      },
      {
        tenant,
        subject: "c1",
        source: "preference-center",
        decisions: [{ purpose: "analytics", action: "withdraw" }],
      },
    ] as const
    for (const command of commands) {
      const { receipt, events } = await kit.record(command)
      expect(validateReceipt(receipt), JSON.stringify(validateReceipt.errors)).toBe(true)
      expect(receipt!.piiPrincipalId).toBe("c1")
      expect(receipt!.collectionMethod).toBe(command.source)
      expect(receipt!.ckDecisions.map((d) => d.eventHash)).toEqual(events.map((e) => e.hash))
    }
    const exported = await kit.export(tenant, "c1")
    expect(exported.receipts).toHaveLength(2)
    expect(exported.receipts[0]!.ckDecisions.map((d) => d.dpv)).toEqual(["ConsentGiven", "ConsentRefused"])
    expect(exported.receipts[0]!.language).toBe("th-TH")
  })

  it("names the W3C DPV status of every decision", () => {
    expect(Decision.REASONS.map((r) => [r, Decision.dpvStatus(r)])).toEqual([
      ["granted", "ConsentGiven"],
      ["denied", "ConsentRefused"],
      ["withdrawn", "ConsentWithdrawn"],
      ["expired", "ConsentExpired"],
      ["outdated_version", "ConsentInvalidated"],
      ["no_consent", "ConsentUnknown"],
      ["opt_out_default", "ConsentUnknown"],
      ["parent_withdrawn", "ConsentWithdrawn"],
      ["gpc_opt_out", "ConsentRefused"],
      ["not_required", null],
      ["guardian_required", "ConsentRequested"],
      ["channel_withdrawn", "ConsentWithdrawn"],
    ])
  })
})

describe("decisions in the runtime", () => {
  it("explains every reason, with the event it rests on", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    expect((await kit.decide(tenant, "new", "marketing.email")).reason).toBe("no_consent")
    expect((await kit.decide(tenant, "new", "orders")).reason).toBe("not_required")
    expect((await kit.decide(tenant, "new", "marketing.email", { jurisdiction: "US-TX" })).reason).toBe(
      "opt_out_default",
    )
    // Granted a month ago under version 2, which version 3 (material, in force since 2026-01-01) replaced.
    const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString()
    const r = await kit.record({
      tenant,
      subject: "old",
      source: "banner",
      occurredAt: monthAgo,
      decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
    })
    const outdated = await kit.decide(tenant, "old", "analytics")
    expect(outdated).toMatchObject({
      allowed: false,
      reason: "outdated_version",
      eventId: r.eventIds[0],
      noticeVersion: 2,
    })
    expect(Decision.explain(outdated)).toContain("material change")
  })

  it("needs a guardian under the PDPA: only a guardian under 10, a guardian too under 20", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    const grantLine = (subject: string, age: number, actor?: { kind: "guardian"; id: string }) =>
      kit.record({
        tenant,
        subject,
        source: "form",
        age,
        jurisdiction: "TH",
        ...(actor ? { actor } : {}),
        decisions: [{ purpose: "marketing.line", action: "grant", noticeVersion: 1 }],
      })
    await grantLine("kid", 9)
    expect((await kit.decide(tenant, "kid", "marketing.line")).reason).toBe("guardian_required")
    await grantLine("kid", 9, { kind: "guardian", id: "mum" })
    expect((await kit.decide(tenant, "kid", "marketing.line")).reason).toBe("granted")
    await grantLine("teen", 15)
    expect((await kit.decide(tenant, "teen", "marketing.line")).reason).toBe("guardian_required")
    await grantLine("teen", 15, { kind: "guardian", id: "dad" })
    await grantLine("teen", 15)
    expect((await kit.decide(tenant, "teen", "marketing.line")).reason).toBe("granted")
    await grantLine("adult", 25)
    expect((await kit.decide(tenant, "adult", "marketing.line")).reason).toBe("granted")
  })

  it("records a GPC signal as an opt-out where it binds, and nothing where it does not", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    await kit.record({
      tenant,
      subject: "ca",
      source: "banner",
      jurisdiction: "US-CA",
      decisions: [{ purpose: "marketing", action: "grant", noticeVersion: 1 }],
    })
    const result = await kit.gpc({ tenant, subject: "ca", jurisdiction: "US-CA" })
    expect(result!.events.map((e) => [e.purpose, e.action, e.source])).toEqual([
      ["marketing", "withdraw", "gpc"],
    ])
    expect((await kit.decide(tenant, "ca", "marketing")).reason).toBe("gpc_opt_out")
    expect((await kit.decide(tenant, "ca", "marketing.email")).reason).toBe("gpc_opt_out")
    expect(await kit.gpc({ tenant, subject: "ca", jurisdiction: "US-CA" })).toMatchObject({ events: [] })
    expect(await kit.gpc({ tenant, subject: "th", jurisdiction: "TH" })).toBeNull()
    expect(await kit.history(tenant, "th")).toEqual([])
  })

  it("turns an inbound opt-out into withdrawals of every purpose of the channel, on that channel", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    await kit.record({
      tenant,
      subject: "c",
      source: "form",
      decisions: [
        { purpose: "marketing.sms", action: "grant", noticeVersion: 1 },
        { purpose: "marketing.email", action: "grant", noticeVersion: 1 },
      ],
    })
    const result = await kit.optOut({ tenant, subject: "c", channel: "sms", source: "sms" })
    expect(result!.events.map((e) => [e.purpose, e.channel, e.action, e.source])).toEqual([
      ["marketing.sms", "sms", "withdraw", "sms"],
    ])
    expect((await kit.gate.send({ tenant, subject: "c", channel: "sms" })).allowed).toBe(false)
    expect((await kit.gate.send({ tenant, subject: "c", channel: "email" })).allowed).toBe(true)
    await expect(kit.gate.assertSend({ tenant, subject: "c", channel: "sms" })).rejects.toMatchObject({
      _tag: "ConsentRequired",
      decision: { reason: "channel_withdrawn" },
    })
  })

  it("answers the state at a past instant", async () => {
    const kit = newKit()
    const tenant = freshTenant()
    await kit.record({
      tenant,
      subject: "c",
      source: "banner",
      occurredAt: "2026-03-01T00:00:00Z",
      decisions: [{ purpose: "marketing.email", action: "grant", noticeVersion: 1 }],
    })
    await kit.record({
      tenant,
      subject: "c",
      source: "banner",
      occurredAt: "2026-04-01T00:00:00Z",
      decisions: [{ purpose: "marketing.email", action: "withdraw" }],
    })
    expect(
      (await kit.stateAt(tenant, "c", new Date("2026-03-15T00:00:00Z")))!.purposes.get("marketing.email")!
        .status,
    ).toBe("granted")
    expect((await kit.state(tenant, "c"))!.purposes.get("marketing.email")!.status).toBe("withdrawn")
  })
})

describe("the dispatcher", () => {
  it("delivers on its own once started, to trackers and messengers subscribed to each kind", async () => {
    const seen: Array<string> = []
    let resolve = () => {}
    const done = new Promise<void>((r) => {
      resolve = r
    })
    const note = (who: string) => async (intent: Intent.Intent) => {
      seen.push(`${who}:${intent.kind}:${intent.purpose}`)
      if (seen.length === 2) resolve()
    }
    const kit = newKit({
      trackers: [
        Tracker.make({ name: "web", categories: ["analytics"], stop: note("web"), resume: note("web") }),
      ],
      messengers: [
        Messenger.make({ name: "mail", channels: ["email"], suppress: note("mail"), resume: note("mail") }),
      ],
      dispatcher: { pollMs: 50 },
    })
    const tenant = freshTenant()
    await kit.record({
      tenant,
      subject: "c",
      source: "banner",
      decisions: [
        { purpose: "analytics", action: "grant", noticeVersion: 3 },
        { purpose: "marketing.email", action: "grant", noticeVersion: 1 },
        { purpose: "marketing.sms", action: "grant", noticeVersion: 1 },
      ],
    })
    await done
    expect(seen.sort()).toEqual(["mail:messaging.resume:marketing.email", "web:tracking.resume:analytics"])
  })

  it("hands back rows it could not start while their lease had room, and delivers them next round", async () => {
    const applied: Array<string> = []
    const kit = newKit({
      trackers: [
        Tracker.make({
          name: "slow",
          resume: async (intent) => {
            await new Promise((resolve) => setTimeout(resolve, 150))
            applied.push(intent.subject)
          },
        }),
      ],
      dispatcher: { autoStart: false, concurrency: 1, leaseMs: 600, timeoutMs: 200 },
    })
    const tenant = freshTenant()
    for (const subject of ["a", "b", "c", "d"]) {
      await kit.record({
        tenant,
        subject,
        source: "banner",
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 3 }],
      })
    }
    const round = await kit.dispatchPending()
    // The fourth row cannot start within lease − timeout (400 ms) after three of 150 ms each.
    expect(round.released).toBeGreaterThanOrEqual(1)
    expect(applied.sort()).toEqual(["a", "b", "c", "d"])
    expect(await kit.outbox.stats(tenant)).toMatchObject({ pending: 0, delivered: 4, dead: 0 })
  })

  it("backs off exponentially with jitter, within its cap", () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(60_000, 500 * 2 ** (attempt - 1))
      expect(Dispatcher.backoff(attempt, 500, 60_000, () => 0)).toBe(ceiling / 2)
      expect(Dispatcher.backoff(attempt, 500, 60_000, () => 0.999999)).toBeLessThanOrEqual(ceiling)
    }
  })

  it("treats a non-retryable adapter failure as a dead letter at once", async () => {
    const { AdapterError } = await import("@consentkit/core")
    const kit = newKit({
      trackers: [
        Tracker.make({
          name: "strict",
          resume: () =>
            Effect.fail(
              new AdapterError({ adapter: "strict", message: "invalid API key", isRetryable: false }),
            ),
        }),
      ],
    })
    const tenant = freshTenant()
    await kit.record({
      tenant,
      subject: "c",
      source: "banner",
      decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 3 }],
    })
    expect(await kit.dispatchPending()).toMatchObject({ claimed: 1, dead: 1 })
    expect((await kit.outbox.deadLetters({ tenant }))[0]).toMatchObject({
      attempts: 1,
      lastError: "invalid API key",
    })
  })
})

describe("the Effect service", () => {
  it("wakes on the kit's change feed, not on its poll interval", async () => {
    let resolve = () => {}
    const done = new Promise<void>((r) => {
      resolve = r
    })
    const kit = newKit({
      trackers: [Tracker.make({ name: "web", categories: ["analytics"], resume: async () => resolve() })],
      // An hour: only the commit's wake-up can deliver within the test's timeout.
      dispatcher: { pollMs: 3_600_000 },
    })
    await kit.record({
      tenant: freshTenant(),
      subject: "w",
      source: "banner",
      decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 3 }],
    })
    await done
  })

  it("publishes every commit on its change feed with the subject's ledger position", async () => {
    const program = Effect.gen(function* () {
      const kit = yield* ConsentKit.ConsentKit
      const feed = yield* PubSub.subscribe(kit.changes)
      const tenant = freshTenant()
      const grant = { purpose: "marketing.email", action: "grant", noticeVersion: 1 } as const
      yield* kit.record({ tenant, subject: "f", source: "api", decisions: [grant] })
      yield* kit.record({
        tenant,
        subject: "f",
        source: "api",
        decisions: [grant, { purpose: "analytics", action: "deny" }],
      })
      yield* kit.erase({ tenant, subject: "f" })
      return yield* Effect.forEach([1, 2, 3], () => PubSub.take(feed))
    })
    const layer = ConsentKit.layer({ policy, secret: "s-0123456789abcdef0123456789abcdef" }).pipe(
      Layer.provide(MemoryStore.layer),
    )
    const changes = await Effect.runPromise(Effect.scoped(Effect.provide(program, layer)))
    expect(changes.map((c) => [c.subject, c.seq, c.kind])).toEqual([
      ["f", 1, "write"],
      ["f", 3, "write"],
      ["f", 3, "erase"],
    ])
  })

  it("is the same runtime behind a layer", async () => {
    const program = Effect.gen(function* () {
      const kit = yield* ConsentKit.ConsentKit
      const tenant = freshTenant()
      yield* kit.record({
        tenant,
        subject: "e",
        source: "api",
        decisions: [{ purpose: "marketing.email", action: "grant", noticeVersion: 1 }],
      })
      const failure = yield* Effect.flip(kit.record({ tenant, subject: "e", source: "api", decisions: [] }))
      return { decision: yield* kit.decide(tenant, "e", "marketing.email"), failure }
    })
    const layer = ConsentKit.layer({ policy, secret: "s-0123456789abcdef0123456789abcdef" }).pipe(
      Layer.provide(MemoryStore.layer),
    )
    const { decision, failure } = await Effect.runPromise(Effect.provide(program, layer))
    expect(decision.reason).toBe("granted")
    expect(failure._tag).toBe("InvalidCommand")
    expect(ConsentStore.ConsentStore.key).toBe("@consentkit/core/ConsentStore")
  })
})

describe("erasure and export", () => {
  it("exports everything held, then erases it and tracks each adapter's completion", async () => {
    const erased: Array<string> = []
    const kit = newKit({
      trackers: [Tracker.make({ name: "cdp", erase: async (i) => void erased.push(i.subject) })],
    })
    const tenant = freshTenant()
    await kit.record({
      tenant,
      subject: "bob",
      source: "banner",
      evidence: { userAgent: "UA-bob" },
      decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 3 }],
    })
    const exported = await kit.export(tenant, "bob")
    expect(exported).toMatchObject({
      subject: "bob",
      chain: { ok: true, count: 1 },
      state: [{ purpose: "analytics", status: "granted" }],
    })
    expect(JSON.parse(JSON.stringify(exported)).events[0].evidence.userAgent).toBe("UA-bob")
    const receipt = await kit.erase({ tenant, subject: "bob" })
    expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(false)
    await kit.dispatchPending()
    expect(erased).toEqual(["bob"])
    expect(await kit.erasureStatus(tenant, receipt.erasureId)).toMatchObject({
      complete: true,
      adapters: [{ adapter: "cdp", status: "delivered" }],
    })
    expect((await kit.export(tenant, "bob")).events).toEqual([])
    await expect(kit.erasureStatus(tenant, "no-such-request")).rejects.toMatchObject({ _tag: "NotFound" })
  })
})
