import { natsBus, tenantToken } from "@consentkit/adapter-bus-nats"
import type { Intent } from "@consentkit/core"
import { eventually } from "@consentkit/core/testing"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { unique } from "./fixtures/policy.js"

const url = process.env.CONSENTKIT_NATS_URL

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

describe.runIf(url)("natsBus", () => {
  const stream = unique("CKTEST")
  const prefix = unique("cktest")
  // Clients are made in the hook, never while collecting: with the URL unset this body still
  // runs, and the suite must then only report itself skipped.
  let nc: NatsConnection
  let bus: ReturnType<typeof natsBus>
  const deliver = (i: Intent.Intent) => Effect.runPromise(bus.adapter.deliver(i))

  beforeAll(async () => {
    bus = natsBus({ servers: url!, stream, subjectPrefix: prefix })
    nc = await connect({ servers: url! })
    await bus.ensureStream()
  })
  afterAll(async () => {
    await bus.close()
    await (await jetstreamManager(nc)).streams.delete(stream)
    await nc.close()
  })

  it("publishes to <prefix>.<tenant>.<kind> with the intent id as the message id", async () => {
    const tenant = unique("t")
    await deliver(intent(tenant, `${tenant}-1`))
    const jsm = await jetstreamManager(nc)
    const stored = await jsm.streams.getMessage(stream, {
      last_by_subj: `${prefix}.${tenant}.tracking.stop`,
    })
    expect(stored?.header.get("Nats-Msg-Id")).toBe(`${tenant}-1`)
    expect(stored?.json<Record<string, unknown>>()).toMatchObject({
      id: `${tenant}-1`,
      tenant,
      kind: "tracking.stop",
      createdAt: "2026-03-01T10:00:00.000Z",
    })
  })

  it("keeps every tenant id one subject token", () => {
    expect(tenantToken("siam.tea *>")).toBe("siam%2Etea%20%2A%3E")
    expect(bus.subjectOf({ tenant: "a.b", kind: "consent.changed" })).toBe(`${prefix}.a%2Eb.consent.changed`)
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

  it("only delivers one tenant's intents when a group filters by tenant", async () => {
    const tenant = `${unique("t")}.dotted`
    const other = unique("t")
    const got: Array<string> = []
    const sub = await bus.subscribe({
      group: unique("filtered"),
      tenant,
      onIntent: async (i) => void got.push(i.tenant),
    })
    await deliver(intent(other, `${other}-1`))
    await deliver(intent(tenant, `${tenant}-1`))
    await deliver(intent(tenant, `${tenant}-2`))
    await eventually(() => expect(got).toEqual([tenant, tenant]))
    await sub.close()
  })

  it("redelivers an intent whose handler rejected, and reports the failure", async () => {
    const tenant = unique("t")
    const attempts: Array<string> = []
    const errors: Array<unknown> = []
    const sub = await bus.subscribe({
      group: `${tenant}-retry`,
      tenant,
      retryDelayMs: 50,
      onError: (e) => void errors.push(e),
      onIntent: async (i) => {
        attempts.push(i.id)
        if (attempts.length === 1) throw new Error("downstream unavailable")
      },
    })
    await deliver(intent(tenant, `${tenant}-1`))
    await eventually(() => expect(attempts).toEqual([`${tenant}-1`, `${tenant}-1`]))
    expect(String(errors[0])).toContain("downstream unavailable")
    await sub.close()
  })

  it("drops a message that is not an intent and goes on", async () => {
    const tenant = unique("t")
    const errors: Array<unknown> = []
    const got: Array<string> = []
    const sub = await bus.subscribe({
      group: `${tenant}-poison`,
      tenant,
      onError: (e) => void errors.push(e),
      onIntent: async (i) => void got.push(i.id),
    })
    const { jetstream } = await import("@nats-io/jetstream")
    await jetstream(nc).publish(`${prefix}.${tenant}.consent.changed`, "{not json")
    await deliver(intent(tenant, `${tenant}-after`))
    await eventually(() => expect(got).toEqual([`${tenant}-after`]))
    expect(errors).toHaveLength(1)
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

  it("starts a group at new messages when asked", async () => {
    const tenant = unique("t")
    await deliver(intent(tenant, `${tenant}-old`))
    const got: Array<string> = []
    const sub = await bus.subscribe({
      group: `${tenant}-new`,
      tenant,
      from: "new",
      onIntent: async (i) => void got.push(i.id),
    })
    await sub.ready
    await deliver(intent(tenant, `${tenant}-fresh`))
    await eventually(() => expect(got).toEqual([`${tenant}-fresh`]))
    await sub.close()
  })
})
