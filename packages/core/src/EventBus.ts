/**
 * The event-bus port: fans consent changes and intents out to every other service (NATS
 * JetStream, Redis Streams, Kafka). A bus publishes with the intent id as message id, so a
 * redelivery is de-duplicated downstream.
 *
 * @since 0.1.0
 */
import { type Adapter, fromHandlers, type Handler } from "./Adapter.js"
import { type Kind, KINDS } from "./Intent.js"

/** What a bus integration supplies. */
export interface EventBusOptions {
  readonly name: string
  /** Publishes one intent. */
  readonly publish: Handler
  /** Kinds to publish (default: all). */
  readonly kinds?: ReadonlyArray<Kind>
}

/** Builds an event-bus adapter. */
export const make = (options: EventBusOptions): Adapter =>
  fromHandlers({
    name: options.name,
    role: "bus",
    handlers: Object.fromEntries((options.kinds ?? KINDS).map((kind) => [kind, options.publish])),
  })
