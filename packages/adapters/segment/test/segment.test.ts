import { type Client, createConsentKit, MemoryStore } from "@consentkit/core"
import { type ConformancePurpose, conformancePolicy, uniqueTenant } from "@consentkit/core/testing"
import { Analytics } from "@segment/analytics-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { segment } from "../src/index.js"
import { startSegment } from "./segment-server.js"

let server: Awaited<ReturnType<typeof startSegment>>
const clients: Array<Analytics> = []
const kits: Array<Client<ConformancePurpose>> = []

beforeAll(async () => {
  server = await startSegment({ writeKey: "wk_shop", token: "sgp_token" })
})

afterAll(async () => {
  for (const kit of kits) await kit.close()
  for (const client of clients) await client.closeAndFlush()
  await server.close()
})

const setup = (deletion: Parameters<typeof segment>[0]["deletion"]) => {
  const client = new Analytics({
    writeKey: "wk_shop",
    host: server.url,
    flushAt: 100,
    flushInterval: 60_000,
    maxRetries: 0,
  })
  clients.push(client)
  const descriptor = segment({
    client,
    deletion,
    purposeOf: (event) => (event.event.startsWith("Ad ") ? "marketing" : "analytics"),
  })
  const kit = createConsentKit({
    policy: conformancePolicy,
    store: MemoryStore.make(),
    secret: "test-secret-0123456789abcdef0123456789abcdef",
    adapters: [descriptor],
    dispatcher: { autoStart: false },
  })
  kits.push(kit)
  const tracker = kit.adapter(descriptor)
  return { tracker, kit }
}

const grantBoth = (kit: Client<ConformancePurpose>, tenant: string, subject: string) =>
  kit.record({
    tenant,
    subject,
    source: "banner",
    decisions: [
      { purpose: "analytics", action: "grant", noticeVersion: 2 },
      { purpose: "marketing", action: "grant", noticeVersion: 1 },
    ],
  })

describe("segment", () => {
  it("sends before a withdrawal, nothing for that purpose after it, and files a suppress-with-delete regulation on erasure", async () => {
    const { tracker, kit } = setup({
      api: "segment",
      token: "sgp_token",
      baseUrl: server.url,
      sourceId: "src_web",
    })
    const tenant = uniqueTenant()
    const subject = `${tenant}-customer`
    await grantBoth(kit, tenant, subject)
    await kit.dispatchPending()
    await tracker.track({ tenant, subject, event: "Product Viewed", properties: { sku: "tea-1" } })
    await tracker.track({ tenant, subject, event: "Ad Clicked" })
    await tracker.flush()

    await kit.record({
      tenant,
      subject,
      source: "preference-center",
      decisions: [{ purpose: "marketing", action: "withdraw" }],
    })
    expect(await tracker.track({ tenant, subject, event: "Ad Viewed" })).toMatchObject({
      allowed: false,
      reason: "withdrawn",
    })
    await kit.dispatchPending()
    expect(await tracker.track({ tenant, subject, event: "Ad Clicked" })).toMatchObject({
      allowed: false,
      reason: "stopped",
    })
    await tracker.track({ tenant, subject, event: "Order Completed" })
    await tracker.flush()

    expect(server.received(subject)).toEqual(["Product Viewed", "Ad Clicked", "Order Completed"])
    const ours = server.messages().filter((m) => m.userId === subject)
    expect(ours[0]!.context?.consent).toEqual({ categoryPreferences: { analytics: true, advertising: true } })
    expect(ours[2]!.context?.consent).toEqual({
      categoryPreferences: { analytics: true, advertising: false },
    })
    expect(server.log.batches.every((b) => b.writeKey === "wk_shop")).toBe(true)

    await kit.link({ tenant, subject, alias: { kind: "anonymous", value: `${tenant}-anon` } })
    const receipt = await kit.erase({ tenant, subject })
    await kit.dispatchPending()
    const filed = server.log.regulations.filter((r) =>
      r.body.subjectIds?.some((id: string) => id.startsWith(tenant)),
    )
    expect(filed).toEqual([
      {
        path: "/regulations/sources/src_web",
        authorization: "Bearer sgp_token",
        body: { regulationType: "SUPPRESS_WITH_DELETE", subjectType: "USER_ID", subjectIds: [subject] },
      },
      {
        path: "/regulations/sources/src_web",
        authorization: "Bearer sgp_token",
        body: {
          regulationType: "SUPPRESS_WITH_DELETE",
          subjectType: "ANONYMOUS_ID",
          subjectIds: [`${tenant}-anon`],
        },
      },
    ])
    expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(true)
  })

  it("tells Segment to suppress once nothing it collects for is allowed, and to unsuppress on a new grant", async () => {
    const { tracker, kit } = setup({ api: "segment", token: "sgp_token", baseUrl: server.url })
    const tenant = uniqueTenant()
    const subject = `${tenant}-stops`
    const ours = () => server.log.regulations.filter((r) => r.body.subjectIds?.includes(subject))
    await grantBoth(kit, tenant, subject)
    await kit.dispatchPending()
    // A first grant follows no suppression: Segment is not called.
    expect(ours()).toEqual([])

    await kit.record({
      tenant,
      subject,
      source: "preference-center",
      decisions: [{ purpose: "marketing", action: "withdraw" }],
    })
    await kit.dispatchPending()
    // Analytics is still allowed: a user-wide suppression would drop it too, so none yet.
    expect(ours()).toEqual([])

    await kit.record({
      tenant,
      subject,
      source: "preference-center",
      decisions: [{ purpose: "analytics", action: "withdraw" }],
    })
    await kit.dispatchPending()
    expect(ours()).toEqual([
      {
        path: "/regulations",
        authorization: "Bearer sgp_token",
        body: { regulationType: "SUPPRESS_ONLY", subjectType: "USER_ID", subjectIds: [subject] },
      },
    ])
    expect(await tracker.track({ tenant, subject, event: "Product Viewed" })).toMatchObject({
      allowed: false,
      reason: "stopped",
    })

    await kit.record({
      tenant,
      subject,
      source: "banner",
      decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
    })
    await kit.dispatchPending()
    expect(ours().map((r) => r.body.regulationType)).toEqual(["SUPPRESS_ONLY", "UNSUPPRESS"])
    await tracker.track({ tenant, subject, event: "Product Viewed" })
    await tracker.flush()
    expect(server.received(subject)).toEqual(["Product Viewed"])
    expect(server.log.unexpected).toEqual([])
  })

  it("covers RudderStack by configuration: same payloads to the data plane, erasure through /v2/regulations", async () => {
    const { tracker, kit } = setup({
      api: "rudderstack",
      token: "sgp_token",
      baseUrl: server.url,
      destinationIds: ["dst_1"],
    })
    const tenant = uniqueTenant()
    const subject = `${tenant}-rudder`
    await grantBoth(kit, tenant, subject)
    await tracker.track({ tenant, subject, event: "Product Viewed" })
    await tracker.flush()
    expect(server.received(subject)).toEqual(["Product Viewed"])

    await kit.erase({ tenant, subject })
    await kit.dispatchPending()
    expect(server.log.regulations.filter((r) => r.path === "/v2/regulations")).toEqual([
      {
        path: "/v2/regulations",
        authorization: "Bearer sgp_token",
        body: {
          regulationType: "suppress_with_delete",
          destinationIds: ["dst_1"],
          users: [{ userId: subject }],
        },
      },
    ])
    expect(server.log.unexpected).toEqual([])
  })
})
