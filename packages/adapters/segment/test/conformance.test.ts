import { trackerConformance } from "@consentkit/core/testing"
import { Analytics } from "@segment/analytics-node"
import { segment } from "../src/index.js"
import { startSegment } from "./segment-server.js"

trackerConformance("segment", {
  setup: async () => {
    const server = await startSegment({ writeKey: "wk_conformance", token: "sgp_conformance" })
    const client = new Analytics({
      writeKey: "wk_conformance",
      host: server.url,
      flushAt: 100,
      flushInterval: 60_000,
      maxRetries: 0,
    })
    const descriptor = segment({
      client,
      deletion: { api: "segment", token: "sgp_conformance", baseUrl: server.url },
    })
    return {
      adapter: descriptor,
      track: async (kit, event) => {
        const tracker = kit.adapter(descriptor)
        await tracker.track({ tenant: event.tenant, subject: event.subject, event: event.name })
        await tracker.flush()
      },
      received: async (subject) => server.received(subject),
      deletions: async () => server.log.regulations.flatMap((r) => r.body.subjectIds as Array<string>),
      teardown: async () => {
        await client.closeAndFlush()
        await server.close()
      },
    }
  },
})
