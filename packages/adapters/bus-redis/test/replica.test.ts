import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { redisBus, subscribeReplica } from "@consentkit/adapter-bus-redis"
import { createConsentKit, MemoryStore } from "@consentkit/core"
import { eventually } from "@consentkit/core/testing"
import { describe, expect, it } from "vitest"
import { dropPrefix } from "./fixtures/cleanup.js"
import { policy, unique } from "./fixtures/policy.js"

const url = process.env.CONSENTKIT_REDIS_URL

describe.runIf(url)("a replica fed by Redis Streams", () => {
  it("refuses the next event after another process records a withdrawal, with no store on the read side", async () => {
    const prefix = unique("cktest")
    const tenant = unique("shop")
    const subject = "c-42"
    // The reading side has a bus and a policy, and no store at all: nothing it answers can come from a database.
    const bus = redisBus({ url: url!, prefix })
    const { replica, ready, close } = await subscribeReplica({ bus, policy, group: "checkout-api" })
    await ready
    expect(replica.track({ tenant, subject, category: "analytics" }).allowed).toBe(false)

    const recorder = spawn(
      process.execPath,
      [
        "--conditions=@consentkit/source",
        "--import",
        "tsx",
        fileURLToPath(new URL("./fixtures/recorder.ts", import.meta.url)),
      ],
      {
        env: {
          ...process.env,
          REDIS_URL: url,
          PREFIX: prefix,
          TENANT: tenant,
          SUBJECT: subject,
        },
        stdio: ["pipe", "pipe", "inherit"],
      },
    )
    const exited = new Promise<number | null>((resolve) => recorder.on("exit", resolve))
    const lines = createInterface({ input: recorder.stdout! })[Symbol.asyncIterator]()
    const next = async () => String((await lines.next()).value)
    try {
      expect(await next()).toBe("granted")
      await eventually(() =>
        expect(replica.track({ tenant, subject, category: "analytics" }).allowed).toBe(true),
      )
      expect(replica.send({ tenant, subject, channel: "email" }).allowed).toBe(true)

      recorder.stdin!.write("withdraw\n")
      expect(await next()).toMatch(/^withdrawn /)
      expect(await exited).toBe(0)

      await eventually(() =>
        expect(replica.track({ tenant, subject, category: "analytics" })).toMatchObject({
          allowed: false,
          reason: "withdrawn",
        }),
      )
      expect(replica.send({ tenant, subject, channel: "email" })).toMatchObject({
        allowed: false,
        reason: "withdrawn",
      })
    } finally {
      recorder.kill()
      await close()
      await bus.close()
      await dropPrefix(url!, prefix)
    }
  })

  it("rebuilds from the start of the stream when its process restarts under the same group", async () => {
    const prefix = unique("cktest")
    const bus = redisBus({ url: url!, prefix })
    const tenant = unique("shop")
    try {
      const kit = createConsentKit({
        policy,
        store: MemoryStore.make(),
        secret: "s-0123456789abcdef0123456789abcdef",
        buses: [bus.adapter],
        dispatcher: { autoStart: false },
      })
      await kit.record({
        tenant,
        subject: "c-1",
        source: "banner",
        decisions: [{ purpose: "marketing.email", action: "grant", noticeVersion: 1 }],
      })
      await kit.dispatchPending()
      await kit.close()

      const first = await subscribeReplica({ bus, policy, group: "api-1" })
      await first.ready
      expect(first.replica.send({ tenant, subject: "c-1", channel: "email" }).allowed).toBe(true)
      await first.close()

      // A new process: an empty replica, the same group. It must not resume past what it never saw.
      const second = await subscribeReplica({ bus, policy, group: "api-1" })
      await second.ready
      expect(second.replica.send({ tenant, subject: "c-1", channel: "email" }).allowed).toBe(true)
      await second.close()
    } finally {
      await bus.close()
      await dropPrefix(url!, prefix)
    }
  })
})
