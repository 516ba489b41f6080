import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import type { Client } from "@consentkit/core"
import { createHandler, type HandlerOptions } from "@consentkit/http"
import { sendWebResponse, toWebRequest } from "@consentkit/http/node"

/** The consent handler served by `node:http` on 127.0.0.1, as an app mounts it. */
export const serve = async (kit: Client<any>, options: HandlerOptions) => {
  const handler = createHandler(kit, options)
  const server = createServer(async (req, res) => {
    try {
      await sendWebResponse(res, await handler(toWebRequest(req)))
    } catch {
      // The handler answers every failure itself; this is the bridge failing, which the tests would see as a 500.
      res.statusCode = 500
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
