import {
  createConsentKit,
  ConsentKit,
  importConsents,
  InvalidCommand,
  MemoryStore,
  Policy,
  WeakSecret,
} from "@consentkit/core"
import { afterAll, describe, expect, it } from "vitest"
import { freshTenant, policy } from "./fixtures.js"

const SECRET = "boundary-0123456789abcdef0123456789abcdef"

describe("secrets consentkit owns", () => {
  it.each([
    ["empty", ""],
    ["a README placeholder", "dev-only"],
    ["another placeholder", "change-me"],
    ["a padded placeholder", " Change_Me "],
    ["short", "s3cr3t-but-only-24-bytes"],
    ["long but not random", "a".repeat(64)],
  ])("refuses this secret (%s) at construction, before anything is written", (_name, secret) => {
    const store = MemoryStore.make()
    expect(() => createConsentKit({ policy, store, secret, dispatcher: { autoStart: false } })).toThrow(
      WeakSecret,
    )
    expect(() => ConsentKit.layer({ policy, secret })).toThrow(/secret/)
  })

  it("says what is wrong and how to make a good one", () => {
    expect(() => createConsentKit({ policy, store: MemoryStore.make(), secret: "change-me" })).toThrow(
      /well-known placeholder.*openssl rand/,
    )
    expect(() => createConsentKit({ policy, store: MemoryStore.make(), secret: "short" })).toThrow(
      /5 bytes long/,
    )
  })

  it("derives independent 32-byte keys per label", async () => {
    const kit = createConsentKit({
      policy,
      store: MemoryStore.make(),
      secret: SECRET,
      dispatcher: { autoStart: false },
    })
    const a = await kit.deriveKey("consentkit/http/visitor-cookie")
    const b = await kit.deriveKey("consentkit/other")
    expect(a).toHaveLength(32)
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
    expect(Buffer.from(await kit.deriveKey("consentkit/http/visitor-cookie")).equals(Buffer.from(a))).toBe(
      true,
    )
    await kit.close()
  })
})

describe("ids are well-formed Unicode in NFC", () => {
  const kit = createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: SECRET,
    dispatcher: { autoStart: false },
  })
  afterAll(() => kit.close())
  const grant = (tenant: string, subject: string) =>
    kit.record({
      tenant,
      subject,
      source: "banner",
      decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 3 }],
    })

  it.each([
    ["an unpaired high surrogate", "cust-\uD800"],
    ["an unpaired low surrogate", "\uDC00-cust"],
    ["a decomposed é (not NFC)", "cafe\u0301"],
  ])("refuses a subject with %s and writes nothing", async (_name, subject) => {
    const tenant = freshTenant("ids")
    const error = await grant(tenant, subject).catch((e) => e)
    expect(error).toBeInstanceOf(InvalidCommand)
    expect(error.issues[0].path).toEqual(["subject"])
    expect(await kit.history(tenant, subject)).toEqual([])
  })

  it("accepts astral characters (a surrogate pair) and NFC text", async () => {
    const tenant = freshTenant("ids")
    await grant(tenant, "ลูกค้า-🍵-café")
    expect(await kit.history(tenant, "ลูกค้า-🍵-café")).toHaveLength(1)
  })

  it("refuses an alias value with an unpaired surrogate", async () => {
    const tenant = freshTenant("ids")
    await grant(tenant, "cust-alias")
    await expect(
      kit.link({ tenant, subject: "cust-alias", alias: { kind: "anonymous", value: "v-\uD83D" } }),
    ).rejects.toBeInstanceOf(InvalidCommand)
  })

  it("answers evidence nested 20,000 deep with a clear error instead of overflowing the stack", async () => {
    const tenant = freshTenant("deep")
    let metadata: Record<string, unknown> = {}
    for (let i = 0; i < 20_000; i++) metadata = { n: metadata }
    const error = await kit
      .record({
        tenant,
        subject: "deep",
        source: "banner",
        evidence: { metadata },
        decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 3 }],
      })
      .catch((e) => e)
    expect(error).toBeInstanceOf(InvalidCommand)
    expect(error.code).toBe("EVIDENCE_TOO_DEEP")
    expect(await kit.history(tenant, "deep")).toEqual([])
  })
})

describe("Policy.define refuses what it would silently misread", () => {
  const base = {
    controller: {
      name: "Siam Tea",
      contact: "DPO",
      email: "dpo@siamtea.example",
      phone: "+66 2 000 0000",
      address: { addressCountry: "TH" },
    },
    policyUrl: "https://siamtea.example/privacy",
  }
  const version = { version: 1, effectiveAt: "2026-01-01", textHash: "h1", material: true }

  it("refuses a misspelt purpose key with its path", () => {
    expect(() =>
      Policy.define({
        ...base,
        purposes: {
          marketing: { title: { en: "Offers" }, versions: [version], chanels: ["email"] } as never,
        },
      }),
    ).toThrow(/policy\.purposes\.marketing\.chanels is not a policy field/)
  })

  it("refuses unknown keys at the top, in the controller and in a version", () => {
    expect(() =>
      Policy.define({
        ...base,
        purpose: {},
        purposes: { a: { title: { en: "A" }, versions: [version] } },
      } as never),
    ).toThrow(/policy\.purpose is not a policy field/)
    expect(() =>
      Policy.define({
        ...base,
        controller: { ...base.controller, mail: "x" },
        purposes: { a: { title: { en: "A" }, versions: [version] } },
      } as never),
    ).toThrow(/policy\.controller\.mail/)
    expect(() =>
      Policy.define({
        ...base,
        purposes: { a: { title: { en: "A" }, versions: [{ ...version, materal: true }] } },
      } as never),
    ).toThrow(/policy\.purposes\.a\.versions\[0\]\.materal/)
  })

  it.each(["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "//evil.example", "not a url"])(
    "refuses the policy URL %s",
    (policyUrl) => {
      expect(() =>
        Policy.define({ ...base, policyUrl, purposes: { a: { title: { en: "A" }, versions: [version] } } }),
      ).toThrow(/policyUrl must be an http\(s\) URL or a path/)
    },
  )

  it("refuses a controller URL that is not http(s)", () => {
    expect(() =>
      Policy.define({
        ...base,
        controller: { ...base.controller, url: "javascript:void(0)" },
        purposes: { a: { title: { en: "A" }, versions: [version] } },
      }),
    ).toThrow(/controller\.url must be an http\(s\) URL/)
  })
})

describe("user-keyed data has no prototype", () => {
  it("imports a row whose file carries a __proto__ key as a rejected row, not a TypeError or a planted field", async () => {
    const kit = createConsentKit({
      policy,
      store: MemoryStore.make(),
      secret: SECRET,
      dispatcher: { autoStart: false },
    })
    const tenant = freshTenant("proto")
    const row = JSON.parse(
      `{"tenant":"${tenant}","subject":"a","purpose":"analytics","action":"grant","notice_version":"3","occurred_at":"2026-02-01T00:00:00Z","__proto__":{"subject":"victim","source":"banner"}}`,
    )
    const summary = await importConsents(kit, [{ line: 2, row }], { tenant })
    expect(summary.imported).toBe(0)
    expect(summary.rejected).toHaveLength(1)
    expect(summary.rejected[0]!.reason).toMatch(/proto__.*excess/i)
    expect(await kit.history(tenant, "a")).toEqual([])
    expect(await kit.history(tenant, "victim")).toEqual([])
    await kit.close()
  })
})

describe("idempotency keys are scoped to the subject", () => {
  it("a key another subject used does not return that subject's receipt nor drop this subject's decision", async () => {
    const kit = createConsentKit({
      policy,
      store: MemoryStore.make(),
      secret: SECRET,
      dispatcher: { autoStart: false },
    })
    const tenant = freshTenant("idem")
    const command = (subject: string, action: "grant" | "withdraw") => ({
      tenant,
      subject,
      source: "banner",
      idempotencyKey: "shared-key-1",
      decisions: [{ purpose: "analytics" as const, action, noticeVersion: 3 }],
    })
    const a = await kit.record(command("visitor-a", "grant"))
    const b = await kit.record(command("visitor-b", "withdraw"))
    expect(b.duplicate).toBe(false)
    expect(b.commandId).not.toBe(a.commandId)
    expect((await kit.history(tenant, "visitor-b")).map((e) => e.action)).toEqual(["withdraw"])
    // The same subject retrying with its key still records once.
    const again = await kit.record(command("visitor-a", "grant"))
    expect(again).toMatchObject({ duplicate: true, commandId: a.commandId })
    expect(await kit.history(tenant, "visitor-a")).toHaveLength(1)
    await kit.close()
  })
})

describe("decide as of an instant (Promise API)", () => {
  it("answers what the ledger implied then, before and after a withdrawal", async () => {
    const kit = createConsentKit({
      policy,
      store: MemoryStore.make(),
      secret: SECRET,
      dispatcher: { autoStart: false },
    })
    const tenant = freshTenant("at")
    const grantedAt = new Date("2026-02-01T00:00:00Z")
    const withdrawnAt = new Date("2026-03-01T00:00:00Z")
    const decision = { purpose: "analytics" as const, noticeVersion: 3 }
    await kit.record({
      tenant,
      subject: "c",
      source: "pos",
      occurredAt: grantedAt,
      decisions: [{ ...decision, action: "grant" }],
    })
    await kit.record({
      tenant,
      subject: "c",
      source: "pos",
      occurredAt: withdrawnAt,
      decisions: [{ ...decision, action: "withdraw" }],
    })
    expect(
      await kit.decide(tenant, "c", "analytics", { at: new Date("2026-01-15T00:00:00Z") }),
    ).toMatchObject({
      allowed: false,
      reason: "no_consent",
    })
    expect(
      await kit.decide(tenant, "c", "analytics", { at: new Date("2026-02-15T00:00:00Z") }),
    ).toMatchObject({
      allowed: true,
      reason: "granted",
    })
    expect(await kit.decide(tenant, "c", "analytics")).toMatchObject({ allowed: false, reason: "withdrawn" })
    await kit.close()
  })
})

describe("the controller's address", () => {
  it("uses schema.org PostalAddress fields and refuses others (e.g. country for addressCountry)", () => {
    const purposes = {
      a: {
        title: { en: "A" },
        versions: [{ version: 1, effectiveAt: "2026-01-01", textHash: "h", material: true }],
      },
    }
    const controller = {
      name: "Siam Tea",
      contact: "DPO",
      email: "dpo@siamtea.example",
      phone: "+66 2 000 0000",
    }
    expect(() =>
      Policy.define({
        controller: { ...controller, address: { country: "TH" } },
        policyUrl: "/privacy",
        purposes,
      }),
    ).toThrow(/policy\.controller\.address\.country is not a policy field.*addressCountry/)
    expect(
      Policy.define({
        controller: { ...controller, address: { addressCountry: "TH" } },
        policyUrl: "/privacy",
        purposes,
      }).controller.address,
    ).toEqual({ addressCountry: "TH" })
  })
})
