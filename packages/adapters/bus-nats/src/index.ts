/**
 * @consentkit/adapter-bus-nats: consentkit's event bus on NATS JetStream. The kit publishes every
 * intent once (the intent id is the message id); services subscribe durable consumer groups, and
 * `subscribeReplica` keeps a local decision cache current from them.
 *
 * @since 0.1.0
 */
export {
  type NatsBus,
  type NatsBusOptions,
  type NatsSubscription,
  natsBus,
  type SubscribeOptions,
  tenantToken,
} from "./NatsBus.js"
export {
  type ReplicaOptions,
  type ReplicaSubscription,
  type Subscribable,
  subscribeReplica,
} from "./ReplicaSubscription.js"
export { decodeIntent, encodeIntent } from "./Codec.js"
