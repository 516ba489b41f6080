import { trackerConformance } from "@consentkit/core/testing"
import { PostHog } from "posthog-node"
import { posthogTracker } from "../src/index.js"
import { startPostHog } from "./posthog-server.js"

trackerConformance("posthog", {
  setup: async () => {
    const server = await startPostHog({ projectToken: "phc_conformance", personalApiKey: "phx_conformance" })
    const client = new PostHog("phc_conformance", {
      host: server.url,
      flushAt: 100,
      flushInterval: 60_000,
      fetchRetryCount: 0,
    })
    const tracker = posthogTracker({
      client,
      deletion: { projectId: 1, personalApiKey: "phx_conformance", apiHost: server.url },
    })
    return {
      adapter: tracker.adapter,
      track: async (kit, event) => {
        tracker.bind(kit)
        await tracker.capture({ tenant: event.tenant, subject: event.subject, event: event.name })
        await tracker.flush()
      },
      received: async (subject) => server.received(subject),
      deletions: async () => server.log.deletions.flatMap((d) => d.body.distinct_ids as Array<string>),
      teardown: async () => {
        await client.shutdown()
        await server.close()
      },
    }
  },
})
