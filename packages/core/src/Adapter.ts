/**
 * The adapter port: anything that applies intents downstream (a tracker, a messenger, an event
 * bus, the brand's own customer-data tables). One small interface; `Tracker.make`,
 * `Messenger.make` and `EventBus.make` build it from plain async functions.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { AdapterError } from "./Errors.js"
import type { Intent, Kind } from "./Intent.js"

/** What an adapter is. */
export type Role = "tracker" | "messenger" | "bus" | "cdp"

/** What an adapter can do, as data. */
export interface AdapterCapabilities {
  /** It deletes a subject's data at the provider on `subject.erase`. */
  readonly erase: boolean
  /** It can stop/suppress and resume (not only gate sends). */
  readonly suppress: boolean
}

/** An adapter as the dispatcher sees it. */
export interface Adapter {
  /** Unique within a kit; outbox rows are keyed by it, so never rename a live adapter. */
  readonly name: string
  readonly role: Role
  /** The intent kinds it receives. */
  readonly kinds: ReadonlyArray<Kind>
  /** Only intents touching these tracker categories (trackers) or channels (messengers); empty = all. */
  readonly categories: ReadonlyArray<string>
  readonly channels: ReadonlyArray<string>
  readonly capabilities: AdapterCapabilities
  /** Applies one intent. Must be idempotent by `intent.id`: the dispatcher may deliver twice after a crash. */
  readonly deliver: (intent: Intent) => Effect.Effect<void, AdapterError>
}

/** Whether an intent is for an adapter (its kind, and its categories or channels where it names any). */
export const accepts = (
  adapter: Adapter,
  intent: Pick<Intent, "kind" | "categories" | "channels">,
): boolean => {
  if (!adapter.kinds.includes(intent.kind)) return false
  if (intent.kind === "tracking.stop" || intent.kind === "tracking.resume") {
    return adapter.categories.length === 0 || intent.categories.some((c) => adapter.categories.includes(c))
  }
  if (intent.kind === "messaging.suppress" || intent.kind === "messaging.resume") {
    return adapter.channels.length === 0 || intent.channels.some((c) => adapter.channels.includes(c))
  }
  return true
}

/** A handler written as a plain async function (or an Effect). */
export type Handler = (intent: Intent) => Promise<void> | Effect.Effect<void, AdapterError>

/** Wraps a handler so any failure becomes a retryable `AdapterError` naming the adapter. */
export const lift =
  (name: string, handler: Handler) =>
  (intent: Intent): Effect.Effect<void, AdapterError> =>
    Effect.suspend(() => {
      const result = handler(intent)
      if (Effect.isEffect(result)) return result
      return Effect.tryPromise({
        try: () => result,
        catch: (cause) =>
          cause instanceof AdapterError
            ? cause
            : new AdapterError({
                adapter: name,
                message: cause instanceof Error ? cause.message : String(cause),
                isRetryable: true,
                cause,
              }),
      })
    })

/** Builds an adapter from handlers per kind. */
export const fromHandlers = (options: {
  readonly name: string
  readonly role: Role
  readonly categories?: ReadonlyArray<string>
  readonly channels?: ReadonlyArray<string>
  readonly handlers: Partial<Record<Kind, Handler>>
}): Adapter => {
  const handlers = new Map<Kind, (intent: Intent) => Effect.Effect<void, AdapterError>>()
  for (const [kind, handler] of Object.entries(options.handlers) as Array<[Kind, Handler | undefined]>) {
    if (handler) handlers.set(kind, lift(options.name, handler))
  }
  return {
    name: options.name,
    role: options.role,
    kinds: [...handlers.keys()],
    categories: options.categories ?? [],
    channels: options.channels ?? [],
    capabilities: {
      erase: handlers.has("subject.erase"),
      suppress: handlers.has("tracking.stop") || handlers.has("messaging.suppress"),
    },
    deliver: (intent) => {
      const handler = handlers.get(intent.kind)
      return handler ? handler(intent) : Effect.void
    },
  }
}
