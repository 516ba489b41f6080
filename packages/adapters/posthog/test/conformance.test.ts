import { trackerConformance } from "@consentkit/core/testing"
import { PostHog } from "posthog-node"
import { posthog } from "../src/index.js"
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
    const descriptor = posthog({
      client,
      deletion: { projectId: 1, personalApiKey: "phx_conformance", apiHost: server.url },
    })
    return {
      adapter: descriptor,
      track: async (kit, event) => {
        const tracker = kit.adapter(descriptor)
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
