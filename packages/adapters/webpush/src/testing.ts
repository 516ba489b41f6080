/**
 * @consentkit/adapter-webpush/testing: a local push service over HTTPS (web-push only speaks https)
 * with a self-signed certificate made by `openssl` for this run, and browser-side subscriptions
 * whose keys it holds, so it decrypts what arrives and an app's tests see the real payloads.
 *
 * Modelled on RFC 8030 (push: `POST` to the endpoint with a `TTL` header → 201 with `Location`;
 * 404/410 for an expired subscription), RFC 8291 / RFC 8188 (aes128gcm message encryption) and
 * RFC 8292 (VAPID: `Authorization: vapid t=<ES256 JWT>, k=<public key>`, audience = the origin;
 * 403 when it does not verify).
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import {
  createDecipheriv,
  createECDH,
  createPublicKey,
  hkdfSync,
  randomBytes,
  randomUUID,
  verify,
} from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { Agent, createServer } from "node:https"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { PushSubscription } from "./Subscriptions.js"

/** One push request the service received. */
export interface PushRequest {
  readonly id: string
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  /** The decrypted payload (null when it could not be decrypted or had none). */
  readonly payload: string | null
}

/** A browser-side subscription: what the page would POST to the app. */
export interface BrowserSubscription {
  readonly id: string
  readonly subscription: PushSubscription
}

/** A running local push service. */
export interface LocalPushService {
  readonly origin: string
  /** The self-signed certificate (PEM) to trust. */
  readonly ca: string
  /** An https agent trusting `ca`: pass as the messenger's `agent`. */
  readonly agent: Agent
  /** Creates a subscription as a browser's PushManager would (fresh P-256 keys and auth secret). */
  readonly subscribe: () => BrowserSubscription
  /** Payloads delivered to a subscription, decrypted, oldest first. */
  readonly received: (id: string) => ReadonlyArray<string>
  /** Makes the service answer 410 Gone for a subscription from now on (the user revoked permission). */
  readonly expire: (id: string) => void
  readonly requests: ReadonlyArray<PushRequest>
  readonly close: () => Promise<void>
}

const selfSigned = (): { key: string; cert: string } => {
  const dir = mkdtempSync(join(tmpdir(), "consentkit-push-"))
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    )
    return {
      key: readFileSync(join(dir, "key.pem"), "utf8"),
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// RFC 8292: the JWT's ES256 signature under the `k` key, for this origin, not expired.
const vapidValid = (authorization: string | undefined, origin: string): boolean => {
  const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(authorization ?? "")
  if (!match) return false
  const [header, claims, signature] = match[1]!.split(".") as [string, string, string]
  const point = Buffer.from(match[2]!, "base64url")
  if (point.length !== 65 || point[0] !== 4) return false
  const key = createPublicKey({
    key: {
      kty: "EC",
      crv: "P-256",
      x: point.subarray(1, 33).toString("base64url"),
      y: point.subarray(33).toString("base64url"),
    },
    format: "jwk",
  })
  const signed = verify(
    "sha256",
    Buffer.from(`${header}.${claims}`),
    { key, dsaEncoding: "ieee-p1363" },
    Buffer.from(signature, "base64url"),
  )
  const jwt = JSON.parse(Buffer.from(claims, "base64url").toString()) as {
    aud?: string
    exp?: number
    sub?: string
  }
  return (
    signed &&
    jwt.aud === origin &&
    typeof jwt.exp === "number" &&
    jwt.exp > Date.now() / 1000 &&
    /^(mailto:|https:)/.test(jwt.sub ?? "")
  )
}

// RFC 8291 + RFC 8188: the user agent's side of aes128gcm (one record, as web-push sends).
const decrypt = (body: Buffer, ua: { ecdh: ReturnType<typeof createECDH>; auth: Buffer }): string => {
  const salt = body.subarray(0, 16)
  const idlen = body[20]!
  const asPublic = body.subarray(21, 21 + idlen)
  const record = body.subarray(21 + idlen)
  const secret = ua.ecdh.computeSecret(asPublic)
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), ua.ecdh.getPublicKey(), asPublic])
  const ikm = Buffer.from(hkdfSync("sha256", secret, ua.auth, keyInfo, 32))
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16))
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12))
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce)
  decipher.setAuthTag(record.subarray(record.length - 16))
  const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()])
  let end = plain.length
  while (end > 0 && plain[end - 1] === 0) end--
  if (plain[end - 1] !== 2) throw new Error("missing last-record delimiter")
  return plain.subarray(0, end - 1).toString("utf8")
}

/** Starts the local push service on 127.0.0.1 (needs the `openssl` command). */
export const localPushService = async (): Promise<LocalPushService> => {
  const { key, cert } = selfSigned()
  const clients = new Map<string, { ecdh: ReturnType<typeof createECDH>; auth: Buffer }>()
  const inbox = new Map<string, Array<string>>()
  const expired = new Set<string>()
  const requests: Array<PushRequest> = []
  let origin = ""

  const server = createServer({ key, cert }, async (req, res) => {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const id = /^\/push\/([\w-]+)$/.exec(req.url ?? "")?.[1] ?? ""
    const client = clients.get(id)
    let status = 201
    let payload: string | null = null
    if (req.method !== "POST" || !client) status = 404
    else if (expired.has(id)) status = 410
    else if (req.headers.ttl === undefined) status = 400
    else if (!vapidValid(req.headers.authorization, origin)) status = 403
    else if (body.length > 0) {
      if (req.headers["content-encoding"] !== "aes128gcm") status = 415
      else {
        try {
          payload = decrypt(body, client)
          inbox.set(id, [...(inbox.get(id) ?? []), payload])
        } catch {
          status = 400
        }
      }
    }
    requests.push({
      id,
      status,
      headers: {
        ttl: req.headers.ttl as string | undefined,
        urgency: req.headers.urgency as string | undefined,
        topic: req.headers.topic as string | undefined,
        "content-encoding": req.headers["content-encoding"] as string | undefined,
      },
      payload,
    })
    if (status === 201) res.setHeader("location", `${origin}/message/${randomUUID()}`)
    res.writeHead(status)
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  const agent = new Agent({ ca: cert })

  return {
    origin,
    ca: cert,
    agent,
    subscribe: () => {
      const id = randomUUID()
      const ecdh = createECDH("prime256v1")
      ecdh.generateKeys()
      const auth = randomBytes(16)
      clients.set(id, { ecdh, auth })
      return {
        id,
        subscription: {
          endpoint: `${origin}/push/${id}`,
          expirationTime: null,
          keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: auth.toString("base64url") },
        },
      }
    },
    received: (id) => inbox.get(id) ?? [],
    expire: (id) => {
      expired.add(id)
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
