/**
 * The tracker port: an analytics or CDP integration that stops collecting a purpose when it is
 * withdrawn, resumes after a new grant and erases on request.
 *
 * @since 0.1.0
 */
import { type Adapter, fromHandlers, type Handler } from "./Adapter.js"

/** What a tracker integration supplies. */
export interface TrackerOptions {
  /** Unique adapter name (e.g. `posthog`). */
  readonly name: string
  /** Tracker categories it serves (e.g. `analytics`, `advertising`); empty = all. */
  readonly categories?: ReadonlyArray<string>
  readonly stop?: Handler
  readonly resume?: Handler
  readonly erase?: Handler
  /** Also receive `consent.changed` (e.g. to forward consent state to the provider). */
  readonly changed?: Handler
}

/** Builds a tracker adapter. */
export const make = (options: TrackerOptions): Adapter =>
  fromHandlers({
    name: options.name,
    role: "tracker",
    categories: options.categories ?? [],
    handlers: {
      "tracking.stop": options.stop,
      "tracking.resume": options.resume,
      "subject.erase": options.erase,
      "consent.changed": options.changed,
    },
  })
