import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { createConsentKit, MemoryStore, Policy } from "@consentkit/core"
import { createHandler } from "@consentkit/http"
import { sendWebResponse, toWebRequest } from "@consentkit/http/node"

// The test server: the real handler on node:http, run as its own process by `global-setup.ts`.
// It cannot run inside a happy-dom test: there the DOM's `Headers` (which `toWebRequest` builds)
// drops the `cookie` header a browser may not set, so the signed visitor cookie never arrives.
const v1 = [{ version: 1, effectiveAt: "2026-01-01", textHash: "h1", material: true }]
const policy = Policy.define({
  controller: {
    name: "Siam Tea",
    contact: "DPO",
    email: "dpo@siamtea.example",
    phone: "+66 2 000 0000",
    address: { addressCountry: "TH" },
  },
  policyUrl: "https://siamtea.example/privacy",
  purposes: {
    analytics: { title: { en: "Analytics", th: "การวิเคราะห์" }, versions: v1 },
    marketing: { title: { en: "Marketing", th: "การตลาด" }, versions: v1 },
  },
})
const tenant = "siam-tea"

const kit = createConsentKit({
  policy,
  store: MemoryStore.make(),
  secret: "react-test-secret-0123456789abcdef0123456789",
  dispatcher: { autoStart: false },
})
const handler = createHandler(kit, { tenant })
const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost")
  // `/history/<subject>`: the ledger, so tests check what was really stored.
  const history = url.pathname.match(/^\/history\/([^/]+)$/)
  if (history) {
    kit.history(tenant, decodeURIComponent(history[1]!)).then(
      (events) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify(events))
      },
      (error: unknown) => {
        res.statusCode = 500
        res.end(String(error))
      },
    )
    return
  }
  // `/<page>/consent/...`: every test page its own endpoint, so each gets its own shared client.
  req.url = url.pathname.replace(/^\/[^/]+(?=\/consent\/)/, "") + url.search
  handler(toWebRequest(req))
    .then((response) => sendWebResponse(res, response))
    .catch((error: unknown) => {
      res.statusCode = 500
      res.end(String(error))
    })
})
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`)
})
