import { type Client, createConsentKit, MemoryStore } from "@consentkit/core"
import { type ConformancePurpose, conformancePolicy, uniqueTenant } from "@consentkit/core/testing"
import { PostHog } from "posthog-node"
import { afterAll, beforeAll, expect, it } from "vitest"
import { type PostHogTracker, posthog } from "../src/index.js"
import { startPostHog } from "./posthog-server.js"

let server: Awaited<ReturnType<typeof startPostHog>>
let client: PostHog
let tracker: PostHogTracker
let kit: Client<ConformancePurpose>

beforeAll(async () => {
  server = await startPostHog({ projectToken: "phc_shop", personalApiKey: "phx_secret" })
  // Default options otherwise: the SDK gzips its batches as it does in production.
  client = new PostHog("phc_shop", {
    host: server.url,
    flushAt: 100,
    flushInterval: 60_000,
    fetchRetryCount: 0,
  })
  const descriptor = posthog({
    client,
    deletion: { projectId: 4242, personalApiKey: "phx_secret", apiHost: server.url },
    purposeOf: (event) => (event.event.startsWith("ad_") ? "marketing" : "analytics"),
  })
  kit = createConsentKit({
    policy: conformancePolicy,
    store: MemoryStore.make(),
    secret: "test-secret-0123456789abcdef0123456789abcdef",
    adapters: [descriptor],
    dispatcher: { autoStart: false },
  })
  tracker = kit.adapter(descriptor)
})

afterAll(async () => {
  await kit.close()
  await client.shutdown()
  await server.close()
})

it("sends before a withdrawal, nothing for that purpose after it, and deletes the person with their aliases on erasure", async () => {
  const tenant = uniqueTenant()
  const subject = `${tenant}-customer`
  const other = `${tenant}-other`
  for (const s of [subject, other]) {
    await kit.record({
      tenant,
      subject: s,
      source: "banner",
      decisions: [
        { purpose: "analytics", action: "grant", noticeVersion: 2 },
        { purpose: "marketing", action: "grant", noticeVersion: 1 },
      ],
    })
  }
  await kit.dispatchPending()
  await tracker.capture({ tenant, subject, event: "product_viewed", properties: { sku: "tea-1" } })
  await tracker.capture({ tenant, subject, event: "ad_clicked" })
  await tracker.flush()

  await kit.record({
    tenant,
    subject,
    source: "preference-center",
    decisions: [{ purpose: "analytics", action: "withdraw" }],
  })
  const refused = await tracker.capture({ tenant, subject, event: "cart_viewed" })
  expect(refused).toMatchObject({ allowed: false, reason: "withdrawn" })
  await kit.dispatchPending()
  expect(await tracker.capture({ tenant, subject, event: "checkout_started" })).toMatchObject({
    allowed: false,
    reason: "stopped",
  })
  await tracker.capture({ tenant, subject, event: "ad_converted" })
  await tracker.capture({ tenant, subject: other, event: "product_viewed" })
  await tracker.flush()

  expect(server.received(subject)).toEqual(["product_viewed", "ad_clicked", "ad_converted"])
  expect(server.received(other)).toEqual(["product_viewed"])
  expect(server.log.batches.every((b) => b.gzip && b.apiKey === "phc_shop")).toBe(true)
  const viewed = server.log.batches.flatMap((b) => b.events).find((e) => e.distinct_id === subject)
  expect(viewed?.properties).toMatchObject({ sku: "tea-1" })
  expect(tracker.stats()).toMatchObject({ dropped: 2, droppedBy: { withdrawn: 1, stopped: 1 } })

  await kit.link({ tenant, subject, alias: { kind: "anonymous", value: `${tenant}-anon` } })
  const receipt = await kit.erase({ tenant, subject, requestedBy: "dpo@shop.example" })
  await kit.dispatchPending()
  expect(server.log.deletions).toEqual([
    {
      projectId: "4242",
      authorization: "Bearer phx_secret",
      body: { distinct_ids: [subject, `${tenant}-anon`], delete_events: true, delete_recordings: true },
    },
  ])
  expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(true)
  expect(server.log.unexpected).toEqual([])
})

it("tells PostHog of a withdrawal as person properties, and of a new grant; a first grant sends nothing", async () => {
  const tenant = uniqueTenant()
  const subject = `${tenant}-props`
  const grant = (purpose: "analytics" | "marketing") =>
    kit.record({
      tenant,
      subject,
      source: "banner",
      decisions: [{ purpose, action: "grant", noticeVersion: purpose === "analytics" ? 2 : 1 }],
    })
  await grant("analytics")
  await grant("marketing")
  await kit.dispatchPending()
  expect(server.personSets(subject)).toEqual([])

  await kit.record({
    tenant,
    subject,
    source: "preference-center",
    decisions: [{ purpose: "analytics", action: "withdraw" }],
  })
  await kit.dispatchPending()
  // Marketing (advertising) is still allowed, so not every purpose is opted out.
  expect(server.personSets(subject)).toEqual([
    { consentkit_opt_out_analytics: true, consentkit_opt_out: false },
  ])

  await kit.record({
    tenant,
    subject,
    source: "preference-center",
    decisions: [{ purpose: "marketing", action: "withdraw" }],
  })
  await kit.dispatchPending()
  expect(server.personSets(subject).at(-1)).toEqual({
    consentkit_opt_out_marketing: true,
    consentkit_opt_out: true,
  })

  await grant("analytics")
  await kit.dispatchPending()
  expect(server.personSets(subject).at(-1)).toEqual({
    consentkit_opt_out_analytics: false,
    consentkit_opt_out: false,
  })
  expect(server.personSets(subject)).toHaveLength(3)
  // The signals carry no behaviour: nothing was collected for the subject.
  expect(server.received(subject)).toEqual([])
  expect(server.log.unexpected).toEqual([])
})
