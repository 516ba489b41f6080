import { generateKeyPairSync } from "node:crypto"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { type Client, ConsentRequired, createConsentKit, MemoryStore } from "@consentkit/core"
import { type ConsentHandler, createHandler } from "@consentkit/http"
import { sendWebResponse, toWebRequest } from "@consentkit/http/node"
import { type ConformancePurpose, conformancePolicy, uniqueTenant } from "@consentkit/core/testing"
import nodemailer from "nodemailer"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nodemailerMessenger, oneClickUnsubscribe, Unsubscribe } from "../src/index.js"
import { type LocalSmtp, localSmtp } from "../src/testing.js"

const SECRET = "one-click-test-secret-0123456789"

const oneClick = (url: string, body = "List-Unsubscribe=One-Click") =>
  fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body })

describe("RFC 8058 one-click unsubscribe over real SMTP", () => {
  let smtp: LocalSmtp
  let kit: Client<ConformancePurpose>
  let server: Server
  let origin: string
  let mail: ReturnType<typeof nodemailerMessenger>
  // The handler needs the kit, the kit the messenger, the messenger the handler's URL: the server is up first.
  let handler: ConsentHandler
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })

  beforeAll(async () => {
    smtp = await localSmtp()
    const addresses = (subject: string) => `${subject}@customers.example`
    // Mounted through @consentkit/http's handler and its Node bridge, as a host app would.
    server = createServer(async (req, res) => {
      await sendWebResponse(res, await handler(toWebRequest(req)))
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    mail = nodemailerMessenger({
      transport: nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: false,
        ignoreTLS: true,
        dkim: {
          domainName: "siamtea.example",
          keySelector: "ck",
          privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        },
      }),
      from: "Siam Tea <news@siamtea.example>",
      recipients: { resolve: (_tenant, subject) => addresses(subject) },
      unsubscribe: { url: `${origin}/consent/unsubscribe`, secret: SECRET },
    })
    kit = createConsentKit({
      policy: conformancePolicy,
      store: MemoryStore.make(),
      secret: "kit-secret-0123456789abcdef0123456789abcdef",
      messengers: [mail],
      dispatcher: { autoStart: false },
    })
    handler = createHandler(kit, {
      tenant: "siamtea",
      basePath: "/consent",
      routes: [oneClickUnsubscribe(kit, { secret: SECRET, path: "/unsubscribe" })],
    })
  })
  afterAll(async () => {
    await kit?.close()
    await smtp?.close()
    server?.close()
  })

  const subscribed = async () => {
    const tenant = uniqueTenant()
    const subject = `${tenant}-customer`
    await kit.record({
      tenant,
      subject,
      source: "signup-form",
      decisions: [{ purpose: "marketing.email", action: "grant", noticeVersion: 1 }],
    })
    await kit.dispatchPending()
    return { tenant, subject, address: `${subject}@customers.example` }
  }

  const send = (tenant: string, subject: string, text: string) =>
    kit.adapter(mail).send({ tenant, subject, purpose: "marketing.email", message: { subject: text, text } })

  it("delivers before the one-click withdrawal, refuses with a typed reason after it, and nothing more arrives", async () => {
    const { tenant, subject, address } = await subscribed()
    await send(tenant, subject, "songkran-sale")
    const [received] = smtp.to(address)
    expect(received?.text).toBe("songkran-sale")

    // RFC 8058 §3.1: one https-or-http URI in List-Unsubscribe, the exact List-Unsubscribe-Post value, both DKIM-signed.
    const listUnsubscribe = received!.header("List-Unsubscribe")!
    expect(listUnsubscribe).toMatch(
      /^<http:\/\/127\.0\.0\.1:\d+\/consent\/unsubscribe\?token=[\w-]+\.[\w-]+>$/,
    )
    expect(received!.header("List-Unsubscribe-Post")).toBe("List-Unsubscribe=One-Click")
    const signed = /\bh=([^;]+)/
      .exec(received!.header("DKIM-Signature")!)![1]!
      .replace(/\s/g, "")
      .toLowerCase()
      .split(":")
    expect(signed).toEqual(expect.arrayContaining(["list-unsubscribe", "list-unsubscribe-post"]))
    const link = listUnsubscribe.slice(1, -1)
    expect(Unsubscribe.verify(SECRET, new URL(link).searchParams.get("token")!)).toMatchObject({
      tenant,
      subject,
      purpose: "marketing.email",
      channel: "email",
    })

    // A plain HTTP client, no cookie, no session: the token alone proves who asked.
    const response = await oneClick(link)
    expect(response.status).toBe(200)

    const refusal = await send(tenant, subject, "after-click").catch((e: unknown) => e)
    expect(refusal).toBeInstanceOf(ConsentRequired)
    // Withdrawn on email alone: the purpose's other channels stay as they were.
    expect((refusal as ConsentRequired).decision).toMatchObject({
      allowed: false,
      reason: "channel_withdrawn",
    })
    await kit.dispatchPending()
    const afterDispatch = await send(tenant, subject, "after-dispatch").catch((e: unknown) => e)
    expect((afterDispatch as ConsentRequired).decision.reason).toBe("channel_withdrawn")

    expect(smtp.to(address).map((m) => m.text)).toEqual(["songkran-sale"])
    const [withdrawal] = (await kit.history(tenant, subject)).filter((e) => e.action === "withdraw")
    expect(withdrawal).toMatchObject({ purpose: "marketing.email", source: "list-unsubscribe" })
    expect(withdrawal!.evidence.metadata).toMatchObject({ method: "rfc8058-one-click", channel: "email" })
  })

  it("answers a tampered token with 403 and records nothing", async () => {
    const { tenant, subject, address } = await subscribed()
    const victim = await subscribed()
    await send(tenant, subject, "hello")
    const link = new URL(smtp.to(address)[0]!.header("List-Unsubscribe")!.slice(1, -1))
    const [payload, signature] = link.searchParams.get("token")!.split(".")

    // Someone rewrites the claims to unsubscribe another customer, keeping the signature.
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString())
    const forged = Buffer.from(JSON.stringify({ ...claims, t: victim.tenant, s: victim.subject })).toString(
      "base64url",
    )
    const flipped = `${signature!.slice(0, -1)}${signature!.endsWith("A") ? "B" : "A"}`
    for (const token of [`${forged}.${signature}`, `${payload}.${flipped}`, "not-a-token", ""]) {
      link.searchParams.set("token", token)
      expect((await oneClick(link.toString())).status).toBe(403)
    }

    expect((await kit.decide(victim.tenant, victim.subject, "marketing.email")).reason).toBe("granted")
    expect((await kit.decide(tenant, subject, "marketing.email")).reason).toBe("granted")
    expect(await kit.history(victim.tenant, victim.subject)).toHaveLength(1)
  })

  it("answers a token past its 60 days with 410 and records nothing; one within them still unsubscribes", async () => {
    const day = 86_400_000
    const { tenant, subject } = await subscribed()
    const link = (age: number) =>
      Unsubscribe.url(
        `${origin}/consent/unsubscribe`,
        Unsubscribe.sign(SECRET, { tenant, subject, purpose: "marketing.email" }, Date.now() - age),
      )

    const expired = await oneClick(link(61 * day))
    expect(expired.status).toBe(410)
    expect(await expired.text()).toMatch(/^this unsubscribe link has expired \(links work for 60 days/)
    expect((await kit.decide(tenant, subject, "marketing.email")).reason).toBe("granted")
    expect(await kit.history(tenant, subject)).toHaveLength(1)

    // CAN-SPAM's 30 days, and the rest of the default window.
    expect((await oneClick(link(59 * day))).status).toBe(200)
    expect((await kit.decide(tenant, subject, "marketing.email", { channel: "email" })).reason).toBe(
      "channel_withdrawn",
    )
  })

  it("answers a store failure with a generic error, never the driver's text, and hands the error to the host", async () => {
    const logged: Array<unknown> = []
    const driverText = "connect ECONNREFUSED 10.0.0.7:5432 (user=consentkit password=s3cret)"
    const failing = createHandler(kit, {
      tenant: "siamtea",
      basePath: "/consent",
      onError: (error) => logged.push(error),
      routes: [
        oneClickUnsubscribe(
          {
            optOut: async () => {
              throw new Error(driverText)
            },
          },
          { secret: SECRET, path: "/unsubscribe" },
        ),
      ],
    })
    const token = Unsubscribe.sign(SECRET, { tenant: "siamtea", subject: "c-1", purpose: "marketing.email" })
    const response = await failing(
      new Request(Unsubscribe.url("https://siamtea.example/consent/unsubscribe", token), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "List-Unsubscribe=One-Click",
      }),
    )
    expect(response.status).toBe(500)
    const body = await response.text()
    expect(body).not.toMatch(/ECONNREFUSED|s3cret|5432/)
    expect(body).toMatch(/internal error/)
    expect(logged).toMatchObject([{ message: driverText }])
  })

  it("never unsubscribes on GET or without the One-Click body", async () => {
    const { tenant, subject, address } = await subscribed()
    await send(tenant, subject, "hello")
    const link = smtp.to(address)[0]!.header("List-Unsubscribe")!.slice(1, -1)
    expect((await fetch(link)).status).toBe(405)
    expect((await oneClick(link, "List-Unsubscribe=Maybe")).status).toBe(400)
    expect((await kit.decide(tenant, subject, "marketing.email")).reason).toBe("granted")
    expect(await kit.history(tenant, subject)).toHaveLength(1)
  })
})

describe("unsubscribe tokens", () => {
  const claims = { tenant: "siamtea", subject: "c-1", purpose: "marketing.email" }
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

  it("verify what they sign, with any secret of a rotation, until maxAge", () => {
    const issued = Date.UTC(2026, 0, 1)
    const token = Unsubscribe.sign(SECRET, claims, issued)
    expect(Unsubscribe.verify([`${SECRET}-next`, SECRET], token, { now: issued + 1000 })).toEqual({
      ...claims,
      channel: "email",
      issuedAt: new Date(issued),
    })
    expect(Unsubscribe.verify(`${SECRET}-other`, token, { now: issued + 1000 })).toBeNull()
    const day = 86_400_000
    expect(Unsubscribe.verify(SECRET, token, { maxAgeMs: 30 * day, now: issued + 29 * day })).not.toBeNull()
    expect(Unsubscribe.verify(SECRET, token, { maxAgeMs: 30 * day, now: issued + 31 * day })).toBeNull()
  })

  it("expire 60 days after the send by default, and refuse a maxAge under CAN-SPAM's 30 days", () => {
    const issued = Date.UTC(2026, 0, 1)
    const token = Unsubscribe.sign(SECRET, claims, issued)
    const day = 86_400_000
    expect(Unsubscribe.DEFAULT_MAX_AGE_MS).toBe(60 * day)
    expect(Unsubscribe.verify(SECRET, token, { now: issued + 59 * day })).not.toBeNull()
    expect(Unsubscribe.verify(SECRET, token, { now: issued + 61 * day })).toBeNull()
    expect(Unsubscribe.check(SECRET, token, { now: issued + 61 * day })).toEqual({ refused: "expired" })
    expect(Unsubscribe.check(`${SECRET}-other`, token, { now: issued })).toEqual({ refused: "invalid" })
    expect(Unsubscribe.verify(SECRET, token, { maxAgeMs: Infinity, now: issued + 3650 * day })).not.toBeNull()
    // Seconds passed where ms are expected would make every link die within hours.
    expect(() => Unsubscribe.verify(SECRET, token, { maxAgeMs: 60 * 86_400 })).toThrow(/at least/)
    expect(() =>
      oneClickUnsubscribe({ optOut: async () => null }, { secret: SECRET, path: "/u", maxAgeMs: 29 * day }),
    ).toThrow(/30 days/)
  })

  it("refuse another encoding of the same signature bytes", () => {
    const token = Unsubscribe.sign(SECRET, claims)
    const last = token.at(-1)!
    // The last base64url character of a 32-byte MAC carries two spare bits: flipping one keeps the bytes.
    const twin = token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1]
    expect(Buffer.from(twin.split(".")[1]!, "base64url")).toEqual(
      Buffer.from(token.split(".")[1]!, "base64url"),
    )
    expect(Unsubscribe.verify(SECRET, twin)).toBeNull()
  })
})
