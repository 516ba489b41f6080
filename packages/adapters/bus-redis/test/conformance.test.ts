import { redisBus } from "@consentkit/adapter-bus-redis"
import { busConformance } from "@consentkit/core/testing"
import { describe, expect, it } from "vitest"
import { dropPrefix } from "./fixtures/cleanup.js"
import { unique } from "./fixtures/policy.js"

const url = process.env.CONSENTKIT_REDIS_URL

it("runs the Redis suite whenever CI runs", () => {
  // CI must never pass by skipping the server suite.
  if (process.env.CI) expect(url, "CONSENTKIT_REDIS_URL must be set in CI").toBeTruthy()
})

describe.runIf(url)("Redis Streams", () => {
  busConformance("redis", {
    setup: async () => {
      const prefix = unique("cktest")
      const bus = redisBus({ url: url!, prefix })
      return {
        adapter: bus.adapter,
        subscribe: bus.subscribe,
        teardown: async () => {
          await bus.close()
          await dropPrefix(url!, prefix)
        },
      }
    },
  })
})
