import { trackerConformance } from "@consentkit/core/testing"
import { ga4 } from "../src/index.js"
import { startGa4 } from "./ga4-server.js"

trackerConformance("ga4", {
  setup: async () => {
    const server = await startGa4({ measurementId: "G-CONF", apiSecret: "secret", token: "ya29.token" })
    const descriptor = ga4({
      measurementId: "G-CONF",
      apiSecret: "secret",
      collectUrl: `${server.url}/mp/collect`,
      deletion: { propertyId: "111", token: async () => "ya29.token", baseUrl: server.url },
    })
    return {
      adapter: descriptor,
      track: async (kit, event) => {
        const tracker = kit.adapter(descriptor)
        await tracker.send({ tenant: event.tenant, subject: event.subject, events: [{ name: event.name }] })
      },
      // Behaviour collected; the consent update a stop sends is the provider being told, not collection.
      received: async (subject) =>
        server.received(subject).filter((name) => name !== "consentkit_consent_update"),
      deletions: async () => server.log.deletions.flatMap((d) => Object.values(d.body)),
      teardown: () => server.close(),
    }
  },
})
