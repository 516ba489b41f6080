/**
 * The messenger port: an email, SMS, LINE or push integration that suppresses a channel when its
 * purpose is withdrawn, lifts the suppression after a new grant and erases on request.
 *
 * @since 0.1.0
 */
import { type Adapter, fromHandlers, type Handler } from "./Adapter.js"
import type { Channel } from "./Policy.js"

/** What a messenger integration supplies. */
export interface MessengerOptions {
  readonly name: string
  /** Channels it sends on (e.g. `email`); empty = all. */
  readonly channels?: ReadonlyArray<Channel>
  readonly suppress?: Handler
  readonly resume?: Handler
  readonly erase?: Handler
  readonly changed?: Handler
}

/** Builds a messenger adapter. */
export const make = (options: MessengerOptions): Adapter =>
  fromHandlers({
    name: options.name,
    role: "messenger",
    channels: options.channels ?? [],
    handlers: {
      "messaging.suppress": options.suppress,
      "messaging.resume": options.resume,
      "subject.erase": options.erase,
      "consent.changed": options.changed,
    },
  })
