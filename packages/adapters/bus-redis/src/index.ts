/**
 * @consentkit/adapter-bus-redis: consentkit's event bus on Redis Streams. The kit appends every
 * intent once (de-duplicated by intent id); services read it in consumer groups, and
 * `subscribeReplica` keeps a local decision cache current from them.
 *
 * @since 0.1.0
 */
export {
  type RedisBus,
  type RedisBusOptions,
  type RedisSubscription,
  redisBus,
  type SubscribeOptions,
} from "./RedisBus.js"
export {
  type ReplicaOptions,
  type ReplicaSubscription,
  type Subscribable,
  subscribeReplica,
} from "./ReplicaSubscription.js"
export { decodeIntent, encodeIntent } from "./Codec.js"
