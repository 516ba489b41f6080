/** A server component: it reads the visitor's decision through the kit, on the server, at request time. */
import { cookies } from "next/headers"
import { consent, TENANT } from "../lib/kit"
import { ClientDecision } from "./providers"

export const dynamic = "force-dynamic"

export default async function Home() {
  const { kit, handler } = consent()
  const jar = await cookies()
  // The visitor the consent routes issued (its signed cookie), if any.
  const visitor = await handler.visitorOf(
    new Request("http://local/", { headers: { cookie: jar.toString() } }),
  )
  const analytics = visitor ? await kit.decide(TENANT, visitor, "analytics") : null
  return (
    <main>
      <h1>Siam Tea Co.</h1>
      <p id="server-decision">
        analytics on the server:{" "}
        {analytics ? (analytics.allowed ? "allowed" : `not allowed (${analytics.reason})`) : "no visitor yet"}
      </p>
      <ClientDecision purpose="analytics" />
    </main>
  )
}
