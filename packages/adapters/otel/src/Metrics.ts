/**
 * OpenTelemetry metrics for consentkit: decisions by reason, deliveries and attempts per adapter,
 * how long intents take to reach each adapter, the outbox's lag, pending rows and dead
 * letters, and the change feed's health and lag. Recorded through `@opentelemetry/api`, so any SDK and exporter the app already runs
 * (Prometheus, OTLP, Datadog, ...) receives them.
 *
 * @since 0.1.0
 */
import type {
  Client,
  ClientOptions,
  ConsentKit,
  ConsentStore,
  Decision,
  Dispatcher,
  Replica,
} from "@consentkit/core"
import {
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  type ObservableGauge,
} from "@opentelemetry/api"

/** Where metrics go. */
export interface MetricsOptions {
  /** The meter to record with (default: the global meter provider's `@consentkit/adapter-otel` meter). */
  readonly meter?: Meter
}

/** Where a decision was answered: the runtime (`decide`, the gates) or a bus-fed replica. */
export type DecisionSource = "decide" | "track" | "send" | "replica.decide" | "replica.track" | "replica.send"

/** The instruments, created once per meter. */
interface Instruments {
  readonly decisions: Counter
  readonly deliveries: Counter
  readonly attempts: Histogram
  readonly deliveryLag: Histogram
  readonly outboxLag: ObservableGauge
  readonly outboxPending: ObservableGauge
  readonly outboxDead: ObservableGauge
  readonly feedUp: ObservableGauge
  readonly feedLag: ObservableGauge
  readonly feedBehind: ObservableGauge
}

const byMeter = new WeakMap<Meter, Instruments>()

const instruments = (options: MetricsOptions = {}): { meter: Meter; i: Instruments } => {
  const meter = options.meter ?? metrics.getMeter("@consentkit/adapter-otel")
  let i = byMeter.get(meter)
  if (!i) {
    i = {
      decisions: meter.createCounter("consentkit.decisions", {
        description: "Consent decisions answered, by reason, outcome, purpose and where they were answered",
      }),
      deliveries: meter.createCounter("consentkit.deliveries", {
        description:
          "Delivery attempts of outbox rows, by adapter and outcome (delivered, superseded, retry, dead)",
      }),
      attempts: meter.createHistogram("consentkit.delivery.attempts", {
        description: "Attempts an outbox row took until it was delivered or became a dead letter, by adapter",
        advice: { explicitBucketBoundaries: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20] },
      }),
      deliveryLag: meter.createHistogram("consentkit.delivery.lag_ms", {
        description: "Time from recording a change to its delivery at an adapter, by adapter",
        unit: "ms",
      }),
      outboxLag: meter.createObservableGauge("consentkit.outbox.lag_ms", {
        description: "Age of the oldest pending outbox row (0 when none): how far propagation is behind",
        unit: "ms",
      }),
      outboxPending: meter.createObservableGauge("consentkit.outbox.pending", {
        description: "Outbox rows waiting for delivery, by adapter",
      }),
      outboxDead: meter.createObservableGauge("consentkit.outbox.dead", {
        description: "Outbox rows parked as dead letters, by adapter: each needs an operator",
      }),
      feedUp: meter.createObservableGauge("consentkit.feed.up", {
        description:
          "1 while this kit follows its store's change feed and heard from it within the fail-safe bound (its cache is trusted), else 0",
      }),
      feedLag: meter.createObservableGauge("consentkit.feed.lag_ms", {
        description: "Time since this kit last heard from its store's change feed (a poll or a live LISTEN)",
        unit: "ms",
      }),
      feedBehind: meter.createObservableGauge("consentkit.feed.behind", {
        description:
          "Change-feed positions seen but not yet all applied by this kit (holes a committing write may fill)",
      }),
    }
    byMeter.set(meter, i)
  }
  return { meter, i }
}

/** Counts one decision. */
export const recordDecision = (
  decision: Decision.Decision,
  source: DecisionSource,
  options?: MetricsOptions,
): void => {
  const attributes: Attributes = {
    reason: decision.reason,
    allowed: decision.allowed,
    purpose: decision.purpose,
    source,
  }
  instruments(options).i.decisions.add(1, attributes)
}

/** Dispatcher options whose `onDelivery` also records deliveries, attempts and delivery lag. */
export const instrumentDispatcher = <O extends Dispatcher.Options>(
  dispatcher: O | undefined,
  options?: MetricsOptions,
): O => {
  const { i } = instruments(options)
  const previous = dispatcher?.onDelivery
  return {
    ...(dispatcher ?? ({} as O)),
    onDelivery: (event: Dispatcher.DeliveryEvent) => {
      const adapter = event.delivery.adapter
      i.deliveries.add(1, { adapter, outcome: event.outcome })
      if (event.outcome === "delivered" || event.outcome === "dead") {
        i.attempts.record(event.delivery.attempts, { adapter, outcome: event.outcome })
      }
      if (event.outcome === "delivered") {
        i.deliveryLag.record(Math.max(0, Date.now() - event.delivery.intent.createdAt.getTime()), { adapter })
      }
      previous?.(event)
    },
  }
}

/** `createConsentKit` options with the dispatcher instrumented (pass the result to `createConsentKit`). */
export const instrument = <P extends string>(
  kitOptions: ClientOptions<P>,
  options?: MetricsOptions,
): ClientOptions<P> => ({
  ...kitOptions,
  dispatcher: instrumentDispatcher(kitOptions.dispatcher, options),
})

/** A registered observation; `stop` removes it from the meter. */
export interface Observation {
  readonly stop: () => void
}

/**
 * Reports the outbox's lag, pending rows and dead letters on every metric collection, from
 * `read` (e.g. `() => kit.outbox.stats()`). Each collection is one store query: register it in
 * one process per outbox (the dispatcher's), not in every app instance.
 */
export const observeOutbox = (
  read: () => Promise<ConsentStore.OutboxStats>,
  options?: MetricsOptions,
): Observation => {
  const { meter, i } = instruments(options)
  const callback: BatchObservableCallback = async (result) => {
    let stats: ConsentStore.OutboxStats
    try {
      stats = await read()
    } catch {
      // A store outage must not fail the whole export; the gauges skip this collection.
      return
    }
    result.observe(
      i.outboxLag,
      stats.oldestPendingAt ? Math.max(0, Date.now() - stats.oldestPendingAt.getTime()) : 0,
    )
    for (const row of stats.byAdapter) {
      result.observe(i.outboxPending, row.pending, { adapter: row.adapter })
      result.observe(i.outboxDead, row.dead, { adapter: row.adapter })
    }
  }
  const observables = [i.outboxLag, i.outboxPending, i.outboxDead]
  meter.addBatchObservableCallback(callback, observables)
  return { stop: () => meter.removeBatchObservableCallback(callback, observables) }
}

/**
 * Reports the change feed's health on every metric collection, from `read` (e.g.
 * `() => kit.feedStatus()`): `consentkit.feed.up` (1 or 0), `consentkit.feed.lag_ms` and
 * `consentkit.feed.behind`. No I/O: the status is what the kit already knows. Register it in every
 * app instance (each follows the feed on its own). A kit that follows no feed reports nothing.
 */
export const observeFeed = (read: () => ConsentKit.FeedStatus, options?: MetricsOptions): Observation => {
  const { meter, i } = instruments(options)
  const callback: BatchObservableCallback = (result) => {
    const status = read()
    if (!status.following) return
    const attributes: Attributes = status.push === null ? {} : { push: status.push }
    result.observe(i.feedUp, status.up ? 1 : 0, attributes)
    if (status.lagMs !== null) result.observe(i.feedLag, status.lagMs, attributes)
    result.observe(i.feedBehind, Math.max(0, status.head - status.position), attributes)
  }
  const observables = [i.feedUp, i.feedLag, i.feedBehind]
  meter.addBatchObservableCallback(callback, observables)
  return { stop: () => meter.removeBatchObservableCallback(callback, observables) }
}

/** What `instrumentClient` takes besides the meter. */
export interface ClientMetricsOptions extends MetricsOptions {
  /** Also report the outbox gauges from this client (`observeOutbox`); default false. */
  readonly outbox?: boolean | { readonly tenant?: string }
  /** Report the change feed's health from this client (`observeFeed`); default true (no I/O). */
  readonly feed?: boolean
}

/**
 * The same client, counting every decision it answers (`decide`, `decideCached`, `decisions`
 * and the gates) by reason. `close()` also removes the outbox observation.
 */
export const instrumentClient = <P extends string>(
  kit: Client<P>,
  options: ClientMetricsOptions = {},
): Client<P> => {
  const count = (source: DecisionSource) => (d: Decision.Decision) => {
    recordDecision(d, source, options)
    return d
  }
  const observation = options.outbox
    ? observeOutbox(
        () => kit.outbox.stats(typeof options.outbox === "object" ? options.outbox.tenant : undefined),
        options,
      )
    : undefined
  const feed = options.feed !== false ? observeFeed(() => kit.feedStatus(), options) : undefined
  return {
    ...kit,
    decide: (tenant, subject, purpose, opts) =>
      kit.decide(tenant, subject, purpose, opts).then(count("decide")),
    decideCached: (tenant, subject, purpose) => {
      const d = kit.decideCached(tenant, subject, purpose)
      return d ? count("decide")(d) : d
    },
    decisions: (tenant, subject) =>
      kit.decisions(tenant, subject).then((ds) => {
        for (const d of ds) recordDecision(d, "decide", options)
        return ds
      }),
    gate: {
      track: (request) => kit.gate.track(request).then(count("track")),
      send: (request) => kit.gate.send(request).then(count("send")),
      assertSend: (request) =>
        kit.gate.assertSend(request).then(count("send"), (error: unknown) => {
          const decision = (error as { decision?: Decision.Decision } | null)?.decision
          if (decision) recordDecision(decision, "send", options)
          throw error
        }),
    },
    close: async () => {
      observation?.stop()
      feed?.stop()
      await kit.close()
    },
  }
}

/** The same replica, counting every decision it answers by reason (`source` is `replica.*`). */
export const instrumentReplica = (
  replica: Replica.Replica,
  options: MetricsOptions = {},
): Replica.Replica => ({
  ...replica,
  decide: (tenant, subject, purpose, now) => {
    const d = replica.decide(tenant, subject, purpose, now)
    recordDecision(d, "replica.decide", options)
    return d
  },
  track: (request) => {
    const d = replica.track(request)
    recordDecision(d, "replica.track", options)
    return d
  },
  send: (request) => {
    const d = replica.send(request)
    recordDecision(d, "replica.send", options)
    return d
  },
})
