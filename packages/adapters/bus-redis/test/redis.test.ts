import { redisBus } from "@consentkit/adapter-bus-redis"
import type { Intent } from "@consentkit/core"
import { eventually } from "@consentkit/core/testing"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { dropPrefix } from "./fixtures/cleanup.js"
import { unique } from "./fixtures/policy.js"

const url = process.env.CONSENTKIT_REDIS_URL

const intent = (tenant: string, id: string, kind: Intent.Kind = "tracking.stop"): Intent.Intent => ({
  id,
  tenant,
  subject: "s1",
  kind,
  seq: 1,
  createdAt: new Date("2026-03-01T10:00:00.000Z"),
  purpose: "analytics",
  reason: "withdrawn",
  categories: ["analytics"],
  channels: [],
  changes: [],
  aliases: [],
  erasureId: null,
  pseudonym: null,
  snapshot: null,
})

describe.runIf(url)("redisBus", () => {
  const prefix = unique("cktest")
  // Clients are made in the hook, never while collecting: with the URL unset this body still
  // runs, and the suite must then only report itself skipped.
  let redis: Redis
  let bus: ReturnType<typeof redisBus>
  const deliver = (i: Intent.Intent) => Effect.runPromise(bus.adapter.deliver(i))

  beforeAll(() => {
    redis = new Redis(url!)
    bus = redisBus({ client: redis, prefix })
  })

  afterAll(async () => {
    await bus.close()
    await redis.quit()
    await dropPrefix(url!, prefix)
  })

  it("appends one entry per intent id, with its tenant and kind as fields", async () => {
    const tenant = unique("t")
    const before = await redis.xlen(bus.streamKey)
    await deliver(intent(tenant, `${tenant}-1`))
    await deliver(intent(tenant, `${tenant}-1`))
    expect(await redis.xlen(bus.streamKey)).toBe(before + 1)
    const [[, fields]] = (await redis.xrevrange(bus.streamKey, "+", "-", "COUNT", 1)) as [[string, string[]]]
    expect(fields.slice(0, 6)).toEqual(["id", `${tenant}-1`, "tenant", tenant, "kind", "tracking.stop"])
    expect(JSON.parse(fields[7]!)).toMatchObject({ id: `${tenant}-1`, createdAt: "2026-03-01T10:00:00.000Z" })
    expect(await redis.pttl(`{${prefix}}:seen:${tenant}-1`)).toBeGreaterThan(0)
  })

  it("hands subscribers core's intent shape back (createdAt a Date)", async () => {
    const tenant = unique("t")
    const got: Array<Intent.Intent> = []
    const sub = await bus.subscribe({
      group: `${tenant}-shape`,
      tenant,
      onIntent: async (i) => void got.push(i),
    })
    await deliver(intent(tenant, `${tenant}-1`))
    await eventually(() => expect(got).toHaveLength(1))
    expect(got[0]).toEqual(intent(tenant, `${tenant}-1`))
    await sub.close()
  })

  it("retries an intent whose handler rejected, and reports the failure", async () => {
    const tenant = unique("t")
    const attempts: Array<string> = []
    const errors: Array<unknown> = []
    const sub = await bus.subscribe({
      group: `${tenant}-retry`,
      tenant,
      claimIdleMs: 100,
      onError: (e) => void errors.push(e),
      onIntent: async (i) => {
        attempts.push(i.id)
        if (attempts.length === 1) throw new Error("downstream unavailable")
      },
    })
    await deliver(intent(tenant, `${tenant}-1`))
    await eventually(() => expect(attempts).toEqual([`${tenant}-1`, `${tenant}-1`]))
    expect(String(errors[0])).toContain("downstream unavailable")
    await eventually(async () =>
      expect(await redis.xpending(bus.streamKey, `${tenant}-retry`)).toEqual([0, null, null, null]),
    )
    await sub.close()
  })

  it("takes over what a crashed consumer had read but not acknowledged", async () => {
    const tenant = unique("t")
    const group = `${tenant}-crash`
    await redis.xgroup("CREATE", bus.streamKey, group, "$", "MKSTREAM")
    await deliver(intent(tenant, `${tenant}-1`))
    // A consumer reads the entry and dies before acknowledging it.
    await redis.xreadgroup("GROUP", group, "crashed", "COUNT", 10, "STREAMS", bus.streamKey, ">")
    const got: Array<string> = []
    const sub = await bus.subscribe({ group, claimIdleMs: 100, onIntent: async (i) => void got.push(i.id) })
    await eventually(() => expect(got).toEqual([`${tenant}-1`]))
    await sub.close()
  })

  it("lets a restarted instance with a stable consumer name re-read its own pending entries at once", async () => {
    const tenant = unique("t")
    const group = `${tenant}-stable`
    await redis.xgroup("CREATE", bus.streamKey, group, "$", "MKSTREAM")
    await deliver(intent(tenant, `${tenant}-1`))
    await redis.xreadgroup("GROUP", group, "api-1", "COUNT", 10, "STREAMS", bus.streamKey, ">")
    const got: Array<string> = []
    // The default claim idle (30 s) has not passed: only reading its own pending list finds the entry.
    const sub = await bus.subscribe({ group, consumer: "api-1", onIntent: async (i) => void got.push(i.id) })
    await sub.ready
    expect(got).toEqual([`${tenant}-1`])
    await sub.close()
  })

  it("acknowledges and reports an entry that is not an intent", async () => {
    const tenant = unique("t")
    const group = `${tenant}-poison`
    const errors: Array<unknown> = []
    const got: Array<string> = []
    const sub = await bus.subscribe({
      group,
      from: "new",
      onError: (e) => void errors.push(e),
      onIntent: async (i) => void got.push(i.id),
    })
    await sub.ready
    await redis.xadd(bus.streamKey, "*", "id", "x", "tenant", tenant, "intent", "{not json")
    await deliver(intent(tenant, `${tenant}-after`))
    await eventually(() => expect(got).toEqual([`${tenant}-after`]))
    expect(errors).toHaveLength(1)
    expect(await redis.xpending(bus.streamKey, group)).toEqual([0, null, null, null])
    await sub.close()
  })

  it("resolves ready once the backlog of a new group is applied", async () => {
    const tenant = unique("t")
    for (let n = 0; n < 5; n++) await deliver(intent(tenant, `${tenant}-${n}`))
    const got: Array<string> = []
    const sub = await bus.subscribe({
      group: `${tenant}-ready`,
      tenant,
      onIntent: async (i) => void got.push(i.id),
    })
    await sub.ready
    expect(got).toHaveLength(5)
    await sub.close()
  })

  it("forgets a closed consumer with nothing pending", async () => {
    const tenant = unique("t")
    const group = `${tenant}-forget`
    const sub = await bus.subscribe({ group, from: "new", consumer: "short-lived", onIntent: async () => {} })
    await sub.ready
    await sub.close()
    expect(await redis.xinfo("CONSUMERS", bus.streamKey, group)).toEqual([])
  })
})
