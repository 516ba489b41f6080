import { natsBus } from "@consentkit/adapter-bus-nats"
import { busConformance } from "@consentkit/core/testing"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { describe, expect, it } from "vitest"
import { unique } from "./fixtures/policy.js"

const url = process.env.CONSENTKIT_NATS_URL

it("runs the NATS suite whenever CI runs", () => {
  // CI must never pass by skipping the server suite.
  if (process.env.CI) expect(url, "CONSENTKIT_NATS_URL must be set in CI").toBeTruthy()
})

describe.runIf(url)("NATS JetStream", () => {
  busConformance("nats", {
    setup: async () => {
      const stream = unique("CKTEST")
      const bus = natsBus({ servers: url!, stream, subjectPrefix: unique("cktest") })
      await bus.ensureStream()
      return {
        adapter: bus.adapter,
        subscribe: bus.subscribe,
        teardown: async () => {
          await bus.close()
          const nc = await connect({ servers: url! })
          await (await jetstreamManager(nc)).streams.delete(stream)
          await nc.close()
        },
      }
    },
  })
})
