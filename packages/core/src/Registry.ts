/**
 * The kit's adapter registry: from the option list (ready `Adapter`s and descriptors) it gives the
 * kit routing specs without building anything, and builds each descriptor once, on its first
 * delivery or on `kit.adapter(descriptor)`, with the kit's gatekeeper. A process that only records
 * names its adapters (so their outbox rows are written) and never constructs their SDK clients.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import type { Adapter } from "./Adapter.js"
import { type AdapterDescriptor, type Gatekeeper, type Instance, isDescriptor } from "./Gatekeeper.js"

/** What `createConsentKit` accepts in `adapters`, `trackers` and `messengers`. */
export type Registered = Adapter | AdapterDescriptor<unknown>

/** The registry of one kit. */
export interface Registry {
  /** Every adapter as the kit and its dispatcher see them; a descriptor's `deliver` builds it on first use. */
  readonly adapters: ReadonlyArray<Adapter>
  /** The API of a registered descriptor, building it on first call; the same object every time. */
  readonly adapter: <Api>(descriptor: AdapterDescriptor<Api>) => Api
}

/** Builds the registry; `gate` is asked only when a descriptor is first built (the kit exists by then). */
export const make = (registered: ReadonlyArray<Registered>, gate: () => Gatekeeper): Registry => {
  const instances = new Map<AdapterDescriptor<unknown>, Instance<unknown>>()
  const instanceOf = <Api>(descriptor: AdapterDescriptor<Api>): Instance<Api> => {
    const known = instances.get(descriptor)
    // The map holds each descriptor's own instance, so its api has the descriptor's type.
    if (known) return known as Instance<Api>
    const built = descriptor.make(gate())
    instances.set(descriptor, built)
    return built
  }
  const adapters = registered.map((entry): Adapter => {
    if (!isDescriptor(entry)) return entry
    return {
      name: entry.name,
      role: entry.role,
      kinds: entry.kinds,
      categories: entry.categories,
      channels: entry.channels,
      capabilities: entry.capabilities,
      deliver: (intent) => Effect.suspend(() => instanceOf(entry).deliver(intent)),
    }
  })
  return {
    adapters,
    adapter: (descriptor) => {
      if (!registered.includes(descriptor)) {
        throw new Error(
          `adapter "${descriptor.name}" is not registered with this kit: pass it in createConsentKit({ adapters })`,
        )
      }
      return instanceOf(descriptor).api
    },
  }
}
