/**
 * @consentkit/adapter-otel: OpenTelemetry metrics for consentkit, so operators see consent
 * decisions and propagation health (deliveries, attempts, outbox lag, dead letters) in the tools
 * they already use.
 *
 * @since 0.1.0
 */
export {
  type ClientMetricsOptions,
  type DecisionSource,
  instrument,
  instrumentClient,
  instrumentDispatcher,
  instrumentReplica,
  type MetricsOptions,
  type Observation,
  observeFeed,
  observeOutbox,
  recordDecision,
} from "./Metrics.js"
