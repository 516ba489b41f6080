import { trackerConformance } from "@consentkit/core/testing"
import { ga4Tracker } from "../src/index.js"
import { startGa4 } from "./ga4-server.js"

trackerConformance("ga4", {
  setup: async () => {
    const server = await startGa4({ measurementId: "G-CONF", apiSecret: "secret", token: "ya29.token" })
    const tracker = ga4Tracker({
      measurementId: "G-CONF",
      apiSecret: "secret",
      collectUrl: `${server.url}/mp/collect`,
      deletion: { propertyId: "111", token: async () => "ya29.token", baseUrl: server.url },
    })
    return {
      adapter: tracker.adapter,
      track: async (kit, event) => {
        tracker.bind(kit)
        await tracker.send({ tenant: event.tenant, subject: event.subject, events: [{ name: event.name }] })
      },
      received: async (subject) => server.received(subject),
      deletions: async () => server.log.deletions.flatMap((d) => Object.values(d.body)),
      teardown: () => server.close(),
    }
  },
})
