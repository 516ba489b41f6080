import { type Client, ConsentRequired, createConsentKit, MemoryStore, Policy } from "@consentkit/core"
import { generateKeyPairSync, sign } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SendGridMessenger, sendgridMessenger } from "../src/index.js"
import { type LocalSendGrid, localSendGrid } from "../src/testing.js"

const API_KEY = "SG.test-key"
const NEWS = 41
const PROMO = 42

const policy = Policy.define({
  controller: {
    name: "Siam Tea Co.",
    contact: "DPO",
    email: "dpo@siamtea.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://siamtea.example/privacy",
  purposes: {
    "email.news": {
      title: { en: "Newsletter", th: "จดหมายข่าว" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "n1", material: true }],
      channels: ["email"],
    },
    "email.promo": {
      title: { en: "Promotions", th: "โปรโมชั่น" },
      versions: [{ version: 1, effectiveAt: "2025-01-01T00:00:00Z", textHash: "p1", material: true }],
      channels: ["email"],
    },
  },
})
type Purpose = (typeof policy.purposeIds)[number]

let tenants = 0
const freshTenant = () => `sg-${Date.now().toString(36)}-${tenants++}`
const emailOf = (subject: string) => `${subject}@Customers.Example`

// SendGrid's Signed Event Webhook: ECDSA P-256 over timestamp + raw body, the key shown as base64 DER.
const webhookKeys = generateKeyPairSync("ec", { namedCurve: "prime256v1" })
const verificationKey = webhookKeys.publicKey.export({ type: "spki", format: "der" }).toString("base64")
const signEvents = (timestamp: string, body: string) =>
  sign("sha256", Buffer.from(timestamp + body), webhookKeys.privateKey).toString("base64")

describe.each([
  { mode: "global" as const, suppression: { kind: "global" as const } },
  {
    mode: "groups" as const,
    suppression: { kind: "groups" as const, groups: { "email.news": NEWS, "email.promo": PROMO } },
  },
])("SendGrid messenger with $mode suppression", ({ mode, suppression }) => {
  let server: LocalSendGrid
  let kit: Client<Purpose>
  let mail: SendGridMessenger

  beforeAll(async () => {
    server = await localSendGrid({ apiKey: API_KEY, groups: [NEWS, PROMO] })
    const messenger = sendgridMessenger({
      apiKey: API_KEY,
      baseUrl: server.url,
      from: { email: "news@siamtea.example", name: "Siam Tea" },
      recipients: { resolve: (_tenant, subject) => emailOf(subject) },
      suppression,
    })
    kit = createConsentKit({
      policy,
      store: MemoryStore.make(),
      secret: "kit-secret-0123456789abcdef0123456789abcdef",
      messengers: [messenger],
      dispatcher: { autoStart: false, baseDelayMs: 0, maxDelayMs: 0 },
    })
    mail = kit.adapter(messenger)
  })
  afterAll(async () => {
    await kit?.close()
    await server?.close()
  })

  const decide = (tenant: string, subject: string, purpose: Purpose, action: "grant" | "withdraw") =>
    kit.record({
      tenant,
      subject,
      source: "preference-center",
      decisions: [{ purpose, action, ...(action === "grant" ? { noticeVersion: 1 } : {}) }],
    })
  const send = (tenant: string, subject: string, purpose: Purpose, text: string) =>
    mail.send({ tenant, subject, purpose, message: { subject: text, text } }).then(
      () => "sent",
      (e: unknown) => (e instanceof ConsentRequired ? e.decision.reason : Promise.reject(e)),
    )
  const calls = (email: string, from: number) =>
    server.requests
      .slice(from)
      .filter(
        (r) =>
          r.path.startsWith("/v3/asm/") &&
          (r.path.includes(encodeURIComponent(email)) ||
            (r.body as { recipient_emails?: Array<string> } | undefined)?.recipient_emails?.includes(email)),
      )
      .map((r) => `${r.method} ${r.path.replace(encodeURIComponent(email), "{email}")}`)

  it("suppresses on withdrawal, sends nothing after it, and lifts the list only when every purpose on it allows mail again", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-somchai`
    const email = emailOf(subject).toLowerCase()
    await kit.record({
      tenant,
      subject,
      source: "signup",
      decisions: [
        { purpose: "email.news", action: "grant", noticeVersion: 1 },
        { purpose: "email.promo", action: "grant", noticeVersion: 1 },
      ],
    })
    await kit.dispatchPending()
    // The first grant lifts any list the address was on before (a resume per purpose); count from here.
    const from = server.requests.length
    expect(await send(tenant, subject, "email.news", "news-1")).toBe("sent")

    await decide(tenant, subject, "email.news", "withdraw")
    expect(await send(tenant, subject, "email.news", "news-2")).toBe("withdrawn")
    await kit.dispatchPending()
    const newsList = mode === "global" ? "/v3/asm/suppressions/global" : `/v3/asm/groups/${NEWS}/suppressions`
    expect(calls(email, from)).toEqual([`POST ${newsList}`])
    expect(
      mode === "global" ? server.globalSuppressions.has(email) : server.groupSuppressions(NEWS).has(email),
    ).toBe(true)

    // Promo is still allowed: with per-purpose groups SendGrid delivers it, with one global list it drops it.
    expect(await send(tenant, subject, "email.promo", "promo-1")).toBe("sent")
    const promo = server.mails.find((m) => m.text === "promo-1")!
    expect(promo.groupId).toBe(mode === "groups" ? PROMO : null)
    expect(promo.customArgs).toEqual({
      consentkit_tenant: tenant,
      consentkit_subject: subject,
      consentkit_purpose: "email.promo",
    })

    await decide(tenant, subject, "email.promo", "withdraw")
    await kit.dispatchPending()
    await decide(tenant, subject, "email.news", "grant")
    await kit.dispatchPending()
    const promoList = mode === "global" ? newsList : `/v3/asm/groups/${PROMO}/suppressions`
    const lifted = mode === "global" ? [] : [`DELETE ${newsList}/{email}`]
    expect(calls(email, from)).toEqual([`POST ${newsList}`, `POST ${promoList}`, ...lifted])

    await decide(tenant, subject, "email.promo", "grant")
    await kit.dispatchPending()
    expect(calls(email, from)).toEqual([
      `POST ${newsList}`,
      `POST ${promoList}`,
      ...lifted,
      `DELETE ${promoList}/{email}`,
    ])
    expect(server.globalSuppressions.has(email) || server.groupSuppressions(NEWS).has(email)).toBe(false)
    expect(await send(tenant, subject, "email.news", "news-3")).toBe("sent")

    const delivered = server.delivered(email)
    expect(delivered).toEqual(mode === "global" ? ["news-1", "news-3"] : ["news-1", "promo-1", "news-3"])
    expect(server.mails.map((m) => m.text)).not.toContain("news-2")
  })

  it("calls SendGrid no more than the change needs: no DELETE for a first grant, one POST per list for one withdrawal", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-few-calls`
    const email = emailOf(subject).toLowerCase()
    const from = server.requests.length
    const asm = () => server.requests.slice(from).filter((r) => r.path.startsWith("/v3/asm/"))
    await kit.record({
      tenant,
      subject,
      source: "signup",
      decisions: [
        { purpose: "email.news", action: "grant", noticeVersion: 1 },
        { purpose: "email.promo", action: "grant", noticeVersion: 1 },
      ],
    })
    await kit.dispatchPending()
    // Two resume intents (no_consent → granted), and nothing was on a list: no request at all.
    expect(asm()).toEqual([])

    // One command withdrawing both purposes: two intents, one commit.
    await kit.record({
      tenant,
      subject,
      source: "preference-center",
      decisions: [
        { purpose: "email.news", action: "withdraw" },
        { purpose: "email.promo", action: "withdraw" },
      ],
    })
    await kit.dispatchPending()
    const newsList = mode === "global" ? "/v3/asm/suppressions/global" : `/v3/asm/groups/${NEWS}/suppressions`
    const promoList = mode === "global" ? newsList : `/v3/asm/groups/${PROMO}/suppressions`
    expect(calls(email, from)).toEqual(
      mode === "global" ? [`POST ${newsList}`] : [`POST ${newsList}`, `POST ${promoList}`],
    )

    // Granting again lifts what was suppressed: one DELETE per list, once both purposes allow it.
    await kit.record({
      tenant,
      subject,
      source: "preference-center",
      decisions: [
        { purpose: "email.news", action: "grant", noticeVersion: 1 },
        { purpose: "email.promo", action: "grant", noticeVersion: 1 },
      ],
    })
    await kit.dispatchPending()
    expect(calls(email, from).filter((c) => c.startsWith("DELETE"))).toEqual(
      mode === "global"
        ? [`DELETE ${newsList}/{email}`]
        : [`DELETE ${newsList}/{email}`, `DELETE ${promoList}/{email}`],
    )
    expect(server.globalSuppressions.has(email) || server.groupSuppressions(NEWS).has(email)).toBe(false)
    expect(server.groupSuppressions(PROMO).has(email)).toBe(false)
    expect(await send(tenant, subject, "email.promo", "back")).toBe("sent")
  })

  it("deletes the marketing contact on erasure, by every address it knows", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-malee`
    const id = server.addContact(emailOf(subject))
    const other = server.addContact(`${subject}@old-address.example`)
    await kit.link({ tenant, subject, alias: { kind: "email", value: `${subject}@old-address.example` } })
    await decide(tenant, subject, "email.news", "grant")
    const receipt = await kit.erase({ tenant, subject })
    await kit.dispatchPending()
    expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(true)
    const search = server.requests.filter((r) => r.path === "/v3/marketing/contacts/search/emails").at(-1)!
    expect([...(search.body as { emails: Array<string> }).emails].sort()).toEqual(
      [`${subject}@old-address.example`, emailOf(subject).toLowerCase()].sort(),
    )
    const deletion = server.requests
      .filter((r) => r.method === "DELETE" && r.path === "/v3/marketing/contacts")
      .at(-1)!
    expect(deletion.query.ids!.split(",").sort()).toEqual([id, other].sort())
    expect(await send(tenant, subject, "email.news", "after-erase")).toBe("no_consent")
  })

  it("completes an erasure when SendGrid has no contact for the subject", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-nobody`
    const deletes = server.requests.filter((r) => r.method === "DELETE").length
    await decide(tenant, subject, "email.news", "grant")
    const receipt = await kit.erase({ tenant, subject })
    await kit.dispatchPending()
    expect((await kit.erasureStatus(tenant, receipt.erasureId)).complete).toBe(true)
    expect(server.requests.filter((r) => r.method === "DELETE")).toHaveLength(deletes)
  })

  it("records an opt-out made at SendGrid, once its signature verifies", async () => {
    const tenant = freshTenant()
    const subject = `${tenant}-anong`
    await kit.record({
      tenant,
      subject,
      source: "signup",
      decisions: [
        { purpose: "email.news", action: "grant", noticeVersion: 1 },
        { purpose: "email.promo", action: "grant", noticeVersion: 1 },
      ],
    })
    await send(tenant, subject, "email.promo", "promo")
    const sent = server.mails.find((m) => m.customArgs.consentkit_subject === subject)!
    // What SendGrid posts when the recipient uses the unsubscribe link it added (custom args come back top-level).
    const event = {
      email: sent.to,
      // SendGrid stamps whole seconds; rounding up keeps the opt-out after the grant made this same second.
      timestamp: Math.ceil(Date.now() / 1000),
      sg_event_id: `evt-${tenant}`,
      ...(mode === "groups" ? { event: "group_unsubscribe", asm_group_id: PROMO } : { event: "unsubscribe" }),
      ...sent.customArgs,
    }
    const body = JSON.stringify([event, { email: sent.to, event: "open", timestamp: event.timestamp }])
    const webhook = mail.eventWebhook({ publicKey: verificationKey, path: "/sendgrid/events" })
    const post = (signature: string, timestamp = String(event.timestamp)) =>
      webhook.handle(
        new Request("http://127.0.0.1/sendgrid/events", {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-twilio-email-event-webhook-signature": signature,
            "x-twilio-email-event-webhook-timestamp": timestamp,
          },
          body,
        }),
      )

    expect((await post(signEvents(String(event.timestamp), body), String(event.timestamp + 1))).status).toBe(
      403,
    )
    expect((await post(signEvents(String(event.timestamp), `${body} `))).status).toBe(403)
    expect(await kit.history(tenant, subject)).toHaveLength(2)

    const response = await post(signEvents(String(event.timestamp), body))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ recorded: 1 })
    const withdrawn = (await kit.history(tenant, subject)).filter((e) => e.action === "withdraw")
    expect(withdrawn.map((e) => [e.purpose, e.source]).sort()).toEqual(
      mode === "groups"
        ? [["email.promo", "sendgrid-group-unsubscribe"]]
        : [
            ["email.news", "sendgrid-unsubscribe"],
            ["email.promo", "sendgrid-unsubscribe"],
          ],
    )
    expect((await kit.decide(tenant, subject, "email.news", { channel: "email" })).allowed).toBe(
      mode === "groups",
    )
  })

  /** A subject granted both purposes a minute ago, and an opt-out event SendGrid would post for them. */
  const optedOutAtSendGrid = async (timestamp: number) => {
    const tenant = freshTenant()
    const subject = `${tenant}-kanya`
    await kit.record({
      tenant,
      subject,
      source: "signup",
      occurredAt: new Date(Date.now() - 60_000),
      decisions: [
        { purpose: "email.news", action: "grant", noticeVersion: 1 },
        { purpose: "email.promo", action: "grant", noticeVersion: 1 },
      ],
    })
    const body = JSON.stringify([
      {
        email: emailOf(subject).toLowerCase(),
        timestamp,
        sg_event_id: `evt-${tenant}`,
        ...(mode === "groups"
          ? { event: "group_unsubscribe", asm_group_id: PROMO }
          : { event: "unsubscribe" }),
        consentkit_tenant: tenant,
        consentkit_subject: subject,
      },
    ])
    const request = (signedAt: number) =>
      new Request("http://127.0.0.1/sendgrid/events", {
        method: "POST",
        headers: {
          "x-twilio-email-event-webhook-signature": signEvents(String(signedAt), body),
          "x-twilio-email-event-webhook-timestamp": String(signedAt),
        },
        body,
      })
    return { tenant, subject, request }
  }

  it("refuses a correctly signed request outside the 5-minute window and records nothing; a fresh one records", async () => {
    const clock = Date.now()
    const seconds = Math.floor(clock / 1000)
    const { tenant, subject, request } = await optedOutAtSendGrid(seconds - 30)
    const webhook = mail.eventWebhook({
      publicKey: verificationKey,
      path: "/sendgrid/events",
      now: () => clock,
    })
    const before = await kit.history(tenant, subject)
    // Captured and replayed later, or stamped ahead: the signature verifies, the timestamp does not pass.
    for (const signedAt of [seconds - 301, seconds - 3600, seconds + 301]) {
      const response = await webhook.handle(request(signedAt))
      expect(response.status).toBe(403)
      expect(await response.text()).toBe("signature expired")
    }
    expect(await kit.history(tenant, subject)).toEqual(before)
    expect((await kit.decide(tenant, subject, "email.promo")).allowed).toBe(true)

    const fresh = await webhook.handle(request(seconds - 299))
    expect(fresh.status).toBe(200)
    expect((await kit.decide(tenant, subject, "email.promo", { channel: "email" })).reason).toBe(
      "channel_withdrawn",
    )
  })

  it("refuses a missing or unreadable verification key when the route is built", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .publicKey.export({ type: "spki", format: "der" })
      .toString("base64")
    for (const [publicKey, message] of [
      ["", /publicKey is empty/],
      ["   ", /publicKey is empty/],
      ["not a key", /not a public key/],
      ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", /not a public key/],
      [rsa, /rsa key; SendGrid's is ECDSA/],
    ] as const)
      expect(() => mail.eventWebhook({ publicKey, path: "/sendgrid/events" })).toThrow(message)
  })

  it("passes SendGrid's whole-second event time through unchanged", async () => {
    const timestamp = Math.floor(Date.now() / 1000) - 10
    const { tenant, subject, request } = await optedOutAtSendGrid(timestamp)
    const webhook = mail.eventWebhook({ publicKey: verificationKey, path: "/sendgrid/events" })
    expect((await webhook.handle(request(Math.floor(Date.now() / 1000)))).status).toBe(200)
    const withdrawals = (await kit.history(tenant, subject)).filter((e) => e.action === "withdraw")
    expect(withdrawals.length).toBeGreaterThan(0)
    for (const w of withdrawals) {
      expect(new Date(w.occurredAt).getTime()).toBe(timestamp * 1000)
      expect(w.evidence.metadata).toMatchObject({ sgTimestamp: timestamp })
    }
  })

  it("answers a signed but malformed body with a generic 400, not the decoder's text", async () => {
    const webhook = mail.eventWebhook({ publicKey: verificationKey, path: "/sendgrid/events" })
    const timestamp = String(Math.floor(Date.now() / 1000))
    for (const body of ["{not json", '[{"timestamp":"yesterday"}]', '{"event":"unsubscribe"}']) {
      const response = await webhook.handle(
        new Request("http://127.0.0.1/sendgrid/events", {
          method: "POST",
          headers: {
            "x-twilio-email-event-webhook-signature": signEvents(timestamp, body),
            "x-twilio-email-event-webhook-timestamp": timestamp,
          },
          body,
        }),
      )
      expect(response.status).toBe(400)
      expect(await response.text()).toBe("expected a JSON array of events")
    }
  })
})
