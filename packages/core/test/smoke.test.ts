import { createConsentKit, MemoryStore, Tracker } from "@consentkit/core"
import { expect, it } from "vitest"
import { freshTenant, policy } from "./fixtures.js"

it("records, decides, dispatches", async () => {
  const received: Array<string> = []
  const tracker = Tracker.make({
    name: "t",
    stop: async (i) => {
      received.push(`stop:${i.subject}:${i.purpose}`)
    },
    resume: async (i) => {
      received.push(`resume:${i.subject}:${i.purpose}`)
    },
  })
  const kit = createConsentKit({
    policy,
    store: MemoryStore.make(),
    secret: "s-0123456789abcdef0123456789abcdef",
    trackers: [tracker],
    dispatcher: { autoStart: false },
  })
  const tenant = freshTenant()
  const r = await kit.record({
    tenant,
    subject: "c1",
    source: "banner",
    decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 3 }],
  })
  expect(r.events).toHaveLength(1)
  expect((await kit.decide(tenant, "c1", "analytics")).reason).toBe("granted")
  await kit.record({
    tenant,
    subject: "c1",
    source: "banner",
    decisions: [{ purpose: "analytics", action: "withdraw" }],
  })
  expect((await kit.decide(tenant, "c1", "analytics")).reason).toBe("withdrawn")
  const round = await kit.dispatchPending()
  expect(round.delivered).toBe(2)
  // The resume was overtaken by the withdrawal before dispatch, so only the stop is applied.
  expect(received).toEqual(["stop:c1:analytics"])
  expect((await kit.verify(tenant, "c1")).ok).toBe(true)
  await kit.close()
})
