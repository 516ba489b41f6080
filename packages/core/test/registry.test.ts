import {
  type AdapterDescriptor,
  createConsentKit,
  type Gatekeeper,
  type Intent,
  MemoryStore,
  MessengerGate,
} from "@consentkit/core"
import { Effect } from "effect"
import { expect, it } from "vitest"
import { freshTenant, policy } from "./fixtures.js"

const descriptor = () => {
  let made = 0
  const delivered: Array<string> = []
  const d: AdapterDescriptor<{
    readonly delivered: () => ReadonlyArray<string>
    readonly gate: Gatekeeper.Gatekeeper
  }> = {
    name: "lazy",
    role: "tracker",
    kinds: ["tracking.stop", "tracking.resume"],
    categories: [],
    channels: [],
    capabilities: { erase: false, suppress: true },
    make: (gate) => {
      made++
      return {
        deliver: (intent: Intent.Intent) =>
          Effect.sync(() => {
            delivered.push(`${intent.kind}:${intent.subject}`)
          }),
        api: { delivered: () => delivered, gate },
      }
    },
  }
  return { d, made: () => made }
}

const withdraw = async (
  kit: { readonly record: ReturnType<typeof createConsentKit<"analytics">>["record"] },
  tenant: string,
) => {
  await kit.record({
    tenant,
    subject: "c1",
    source: "banner",
    decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 3 }],
  })
  await kit.record({
    tenant,
    subject: "c1",
    source: "banner",
    decisions: [{ purpose: "analytics", action: "withdraw" }],
  })
}

it("a process that only records writes the descriptor's outbox rows and never builds it", async () => {
  const { d, made } = descriptor()
  const kit = createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "s-0123456789abcdef0123456789abcdef",
    adapters: [d],
    dispatcher: { autoStart: false },
  })
  const tenant = freshTenant()
  await withdraw(kit, tenant)
  const stats = await kit.outbox.stats(tenant)
  expect(stats.byAdapter.find((a) => a.adapter === "lazy")?.pending).toBe(2)
  expect(made()).toBe(0)
  await kit.close()
})

it("kit.adapter(d) builds once and gives the same api; its gate decides", async () => {
  const { d, made } = descriptor()
  const kit = createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "s-0123456789abcdef0123456789abcdef",
    adapters: [d],
    dispatcher: { autoStart: false },
  })
  const a = kit.adapter(d)
  expect(kit.adapter(d)).toBe(a)
  expect(made()).toBe(1)
  const tenant = freshTenant()
  await withdraw(kit, tenant)
  expect((await a.gate.decide(tenant, "c1", "analytics")).reason).toBe("withdrawn")
  const other = descriptor().d
  expect(() => kit.adapter(other)).toThrow(/not registered/)
  await kit.close()
})

it("the dispatcher delivers through the built deliver", async () => {
  const { d, made } = descriptor()
  const kit = createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "s-0123456789abcdef0123456789abcdef",
    trackers: [d],
    dispatcher: { autoStart: false },
  })
  const tenant = freshTenant()
  await withdraw(kit, tenant)
  const pending = (await kit.outbox.stats(tenant)).pending
  expect(made()).toBe(0)
  const round = await kit.dispatchPending()
  expect(round.delivered).toBe(pending)
  expect(made()).toBe(1)
  const delivered = kit.adapter(d).delivered()
  expect(delivered).toContain("tracking.stop:c1")
  await kit.close()
})

it("MessengerGate.defineMessenger: routed by its channels, built on kit.adapter with a gate that refuses unconsented sends", async () => {
  let built = 0
  const d = MessengerGate.defineMessenger(
    { name: "mail", channels: ["email"], erase: async () => {} },
    (gate) => {
      built++
      return gate
    },
  )
  expect(d.channels).toEqual(["email"])
  expect(d.kinds).toContain("messaging.suppress")
  const kit = createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "s-0123456789abcdef0123456789abcdef",
    messengers: [d],
    dispatcher: { autoStart: false },
  })
  expect(built).toBe(0)
  const gate = kit.adapter(d)
  expect(built).toBe(1)
  await expect(
    gate.assertSend({ tenant: freshTenant(), subject: "x", channel: "email" }),
  ).rejects.toMatchObject({
    _tag: "ConsentRequired",
  })
  await kit.close()
})
