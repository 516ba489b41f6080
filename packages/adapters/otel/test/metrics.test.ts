import { instrument, instrumentClient, instrumentReplica, observeOutbox } from "@consentkit/adapter-otel"
import { AdapterError, createConsentKit, MemoryStore, Replica, Tracker } from "@consentkit/core"
import { breakable, conformancePolicy, eventually, uniqueTenant } from "@consentkit/core/testing"
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"

/** A reader the test collects from on demand. */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const setup = () => {
  const reader = new TestReader()
  const provider = new MeterProvider({ readers: [reader] })
  const meter = provider.getMeter("test")
  /** Data points of one metric, as { attributes, value }. */
  const points = async (name: string) => {
    const { resourceMetrics } = await reader.collect()
    const metric = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === name)
    return (metric?.dataPoints ?? []) as Array<DataPoint<number | Histogram>>
  }
  const value = async (name: string, attributes: Record<string, unknown>) => {
    const found = (await points(name)).filter((p) =>
      Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
    )
    return found
      .map((p) => (typeof p.value === "number" ? p.value : p.value.count))
      .reduce((a, b) => a + b, 0)
  }
  return { meter, points, value }
}

const grant = (tenant: string, subject: string, purpose: "analytics" | "marketing.email") => ({
  tenant,
  subject,
  source: "banner",
  decisions: [{ purpose, action: "grant" as const, noticeVersion: 1 }],
})

describe("consentkit metrics", () => {
  it("counts deliveries and attempts per adapter, and dead letters", async () => {
    const { meter, value, points } = setup()
    let flaky = 0
    const tracker = Tracker.make({
      name: "flaky-tracker",
      stop: async () => {},
      resume: async () => {
        // Fails the first attempt, so the row is retried once.
        if (flaky++ === 0) throw new Error("timeout")
      },
    })
    const broken = Tracker.make({
      name: "broken-tracker",
      stop: async () => {},
      resume: () =>
        Effect.fail(new AdapterError({ adapter: "broken-tracker", message: "bad key", isRetryable: false })),
    })
    const kit = instrumentClient(
      createConsentKit(
        instrument(
          {
            policy: conformancePolicy,
            store: MemoryStore.make(),
            secret: "s-0123456789abcdef0123456789abcdef",
            trackers: [tracker, broken],
            dispatcher: { autoStart: false, baseDelayMs: 0, maxDelayMs: 0 },
          },
          { meter },
        ),
      ),
      { meter, outbox: true },
    )
    const tenant = uniqueTenant()
    await kit.record(grant(tenant, "s1", "analytics"))
    await kit.dispatchPending()

    expect(await value("consentkit.deliveries", { adapter: "flaky-tracker", outcome: "retry" })).toBe(1)
    expect(await value("consentkit.deliveries", { adapter: "flaky-tracker", outcome: "delivered" })).toBe(1)
    expect(await value("consentkit.deliveries", { adapter: "broken-tracker", outcome: "dead" })).toBe(1)
    const attempts = (await points("consentkit.delivery.attempts")).find(
      (p) => p.attributes.adapter === "flaky-tracker",
    )
    expect((attempts!.value as Histogram).sum).toBe(2)
    expect(await value("consentkit.delivery.lag_ms", { adapter: "flaky-tracker" })).toBe(1)

    expect(await value("consentkit.outbox.dead", { adapter: "broken-tracker" })).toBe(1)
    expect(await value("consentkit.outbox.pending", { adapter: "flaky-tracker" })).toBe(0)
    expect(await value("consentkit.outbox.lag_ms", {})).toBe(0)
    await kit.close()
  })

  it("reports the age of the oldest pending row as the outbox lag", async () => {
    const { meter, value } = setup()
    const oldest = new Date(Date.now() - 60_000)
    const observation = observeOutbox(
      async () => ({
        pending: 3,
        dead: 0,
        delivered: 0,
        oldestPendingAt: oldest,
        byAdapter: [{ adapter: "nats", pending: 3, delivered: 0, dead: 0 }],
      }),
      { meter },
    )
    expect(await value("consentkit.outbox.lag_ms", {})).toBeGreaterThanOrEqual(60_000)
    expect(await value("consentkit.outbox.pending", { adapter: "nats" })).toBe(3)
    observation.stop()
  })

  it("counts decisions by reason, from the runtime's gates and from a replica", async () => {
    const { meter, value } = setup()
    const kit = instrumentClient(
      createConsentKit({
        policy: conformancePolicy,
        store: MemoryStore.make(),
        secret: "s-0123456789abcdef0123456789abcdef",
        dispatcher: { autoStart: false },
      }),
      { meter },
    )
    const tenant = uniqueTenant()
    const recorded = await kit.record(grant(tenant, "s1", "marketing.email"))
    await kit.decide(tenant, "s1", "marketing.email")
    await kit.gate.send({ tenant, subject: "s1", channel: "email" })
    await kit.gate.track({ tenant, subject: "s1", category: "analytics" })
    await expect(kit.gate.assertSend({ tenant, subject: "s2", channel: "email" })).rejects.toThrow()

    expect(await value("consentkit.decisions", { source: "decide", reason: "granted", allowed: true })).toBe(
      1,
    )
    expect(await value("consentkit.decisions", { source: "send", reason: "granted" })).toBe(1)
    expect(
      await value("consentkit.decisions", { source: "send", reason: "no_consent", allowed: false }),
    ).toBe(1)
    expect(await value("consentkit.decisions", { source: "track", reason: "no_consent" })).toBe(1)

    const replica = instrumentReplica(Replica.make(conformancePolicy), { meter })
    for (const intent of recorded.intents) replica.apply(intent)
    expect(replica.send({ tenant, subject: "s1", channel: "email" }).allowed).toBe(true)
    expect(await value("consentkit.decisions", { source: "replica.send", reason: "granted" })).toBe(1)
    await kit.close()
  })

  it("reports the change feed's health and lag: up while it is heard from, down once it is lost", async () => {
    const { meter, value } = setup()
    const feed = breakable(MemoryStore.make())
    const kit = instrumentClient(
      createConsentKit({
        policy: conformancePolicy,
        // Not the in-process subscription: the wrapped feed is polled, as a SQL store's is.
        store: { ...feed.store, changes: { ...feed.store.changes!, subscribe: undefined } },
        secret: "s-0123456789abcdef0123456789abcdef",
        feed: { pollMs: 20, staleAfterMs: 200 },
        dispatcher: { autoStart: false },
      }),
      { meter },
    )
    await kit.record(grant(uniqueTenant(), "s1", "analytics"))
    await eventually(async () => expect(await value("consentkit.feed.up", {})).toBe(1))
    expect(await value("consentkit.feed.lag_ms", {})).toBeLessThan(200)
    feed.down(true)
    await eventually(async () => {
      expect(await value("consentkit.feed.up", {})).toBe(0)
      expect(await value("consentkit.feed.lag_ms", {})).toBeGreaterThan(200)
    })
    feed.down(false)
    await eventually(async () => expect(await value("consentkit.feed.up", {})).toBe(1))
    await kit.close()
  })
})
