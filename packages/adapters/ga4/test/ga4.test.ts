import { createConsentKit, MemoryStore } from "@consentkit/core"
import { conformancePolicy, uniqueTenant } from "@consentkit/core/testing"
import { expect, it, onTestFinished } from "vitest"
import { ga4, pseudonymousClientId } from "../src/index.js"
import { startGa4 } from "./ga4-server.js"

it("sends before a withdrawal with consent parameters, nothing after it, and submits user deletions on erasure", async () => {
  const server = await startGa4({ measurementId: "G-SHOP", apiSecret: "mp-secret", token: "ya29.host-token" })
  onTestFinished(() => server.close())
  const descriptor = ga4({
    measurementId: "G-SHOP",
    apiSecret: "mp-secret",
    collectUrl: `${server.url}/mp/collect`,
    deletion: { propertyId: "123456789", token: () => "ya29.host-token", baseUrl: server.url },
  })
  const kit = createConsentKit({
    policy: conformancePolicy,
    store: MemoryStore.make(),
    secret: "test-secret-0123456789abcdef0123456789abcdef",
    adapters: [descriptor],
    dispatcher: { autoStart: false },
  })
  onTestFinished(() => kit.close())
  const tracker = kit.adapter(descriptor)

  const tenant = uniqueTenant()
  const subject = `${tenant}-customer`
  await kit.record({
    tenant,
    subject,
    source: "banner",
    decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 2 }],
  })
  await tracker.send({
    tenant,
    subject,
    clientId: "555.777",
    events: [{ name: "page_view", params: { page_location: "/tea" } }],
  })
  await kit.record({
    tenant,
    subject,
    source: "banner",
    decisions: [{ purpose: "marketing", action: "grant", noticeVersion: 1 }],
  })
  await tracker.send({ tenant, subject, clientId: "555.777", events: [{ name: "add_to_cart" }] })

  await kit.record({
    tenant,
    subject,
    source: "preference-center",
    decisions: [{ purpose: "analytics", action: "withdraw" }],
  })
  expect(await tracker.send({ tenant, subject, events: [{ name: "begin_checkout" }] })).toMatchObject({
    allowed: false,
    reason: "withdrawn",
  })
  await kit.dispatchPending()
  expect(await tracker.send({ tenant, subject, events: [{ name: "purchase" }] })).toMatchObject({
    allowed: false,
    reason: "stopped",
  })

  // After the stop, only the consent update reached Google (no purchase, no begin_checkout).
  expect(server.received(subject)).toEqual(["page_view", "add_to_cart", "consentkit_consent_update"])
  const [first, second] = server.log.collects.filter((c) => c.body.user_id === subject)
  expect(first).toEqual({
    measurementId: "G-SHOP",
    body: {
      client_id: "555.777",
      user_id: subject,
      consent: { ad_user_data: "DENIED", ad_personalization: "DENIED" },
      events: [{ name: "page_view", params: { page_location: "/tea" } }],
    },
  })
  expect(second!.body.consent).toEqual({ ad_user_data: "GRANTED", ad_personalization: "GRANTED" })

  // The default client id is a keyed pseudonym, never the customer id.
  const pseudonym = await pseudonymousClientId("mp-secret", tenant, subject)
  expect(pseudonym).toMatch(/^\d{1,10}\.\d{1,10}$/)
  expect(server.log.collects.some((c) => c.body.client_id === subject)).toBe(false)

  await kit.link({ tenant, subject, alias: { kind: "ga_client_id", value: "555.777" } })
  const receipt = await kit.erase({ tenant, subject })
  await kit.dispatchPending()
  expect(server.log.deletions).toEqual([
    { property: "123456789", authorization: "Bearer ya29.host-token", body: { userId: subject } },
    { property: "123456789", authorization: "Bearer ya29.host-token", body: { clientId: pseudonym } },
    { property: "123456789", authorization: "Bearer ya29.host-token", body: { clientId: "555.777" } },
  ])
  expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(true)
  expect(server.log.unexpected).toEqual([])
})

it("tells Google of an advertising withdrawal: Measurement Protocol consent DENIED, on the pseudonymous client id", async () => {
  const server = await startGa4({ measurementId: "G-SHOP", apiSecret: "mp-secret", token: "ya29.host-token" })
  onTestFinished(() => server.close())
  const descriptor = ga4({
    measurementId: "G-SHOP",
    apiSecret: "mp-secret",
    collectUrl: `${server.url}/mp/collect`,
    deletion: { propertyId: "123456789", token: "ya29.host-token", baseUrl: server.url },
  })
  const kit = createConsentKit({
    policy: conformancePolicy,
    store: MemoryStore.make(),
    secret: "test-secret-0123456789abcdef0123456789abcdef",
    adapters: [descriptor],
    dispatcher: { autoStart: false },
  })
  onTestFinished(() => kit.close())
  const tenant = uniqueTenant()
  const subject = `${tenant}-ads`
  await kit.record({
    tenant,
    subject,
    source: "banner",
    decisions: [
      { purpose: "analytics", action: "grant", noticeVersion: 2 },
      { purpose: "marketing", action: "grant", noticeVersion: 1 },
    ],
  })
  await kit.dispatchPending()
  // A first grant sends nothing to Google.
  expect(server.log.collects).toEqual([])
  await kit.record({
    tenant,
    subject,
    source: "preference-center",
    decisions: [{ purpose: "marketing", action: "withdraw" }],
  })
  await kit.dispatchPending()
  expect(server.log.collects).toEqual([
    {
      measurementId: "G-SHOP",
      body: {
        client_id: await pseudonymousClientId("mp-secret", tenant, subject),
        user_id: subject,
        consent: { ad_user_data: "DENIED", ad_personalization: "DENIED" },
        events: [{ name: "consentkit_consent_update", params: { purpose: "marketing" } }],
      },
    },
  ])
  expect(server.log.unexpected).toEqual([])
})

it("files the erasure through the User Deletion API's upsert, for the user id, the pseudonym and the _ga client id", async () => {
  const server = await startGa4({ measurementId: "G-SHOP", apiSecret: "mp-secret", token: "ya29.host-token" })
  onTestFinished(() => server.close())
  const descriptor = ga4({
    measurementId: "G-SHOP",
    apiSecret: "mp-secret",
    collectUrl: `${server.url}/mp/collect`,
    deletion: {
      api: "user-deletion",
      propertyId: "123456789",
      token: "ya29.host-token",
      baseUrl: server.url,
    },
  })
  const kit = createConsentKit({
    policy: conformancePolicy,
    store: MemoryStore.make(),
    secret: "test-secret-0123456789abcdef0123456789abcdef",
    adapters: [descriptor],
    dispatcher: { autoStart: false },
  })
  onTestFinished(() => kit.close())
  const tenant = uniqueTenant()
  const subject = `${tenant}-erase`
  await kit.link({
    tenant,
    subject,
    alias: { kind: "ga4:client_id", value: "1234567890.1700000000" },
    merge: false,
  })
  const receipt = await kit.erase({ tenant, subject })
  await kit.dispatchPending()
  const request = (type: string, userId: string) => ({
    authorization: "Bearer ya29.host-token",
    body: { kind: "analytics#userDeletionRequest", id: { type, userId }, propertyId: "123456789" },
  })
  expect(server.log.upserts).toEqual([
    request("USER_ID", subject),
    request("CLIENT_ID", await pseudonymousClientId("mp-secret", tenant, subject)),
    request("CLIENT_ID", "1234567890.1700000000"),
  ])
  expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(true)
  expect(server.log.unexpected).toEqual([])
})
