/**
 * Where push subscriptions live. The messenger stores what browsers register and drops it on
 * withdrawal, erasure or a 404/410 from the push service; any table can back it through this
 * small interface (a Kysely or Redis store is a few lines), and `memory()` is the default.
 *
 * @since 0.1.0
 */

/** A browser's `PushSubscription.toJSON()`. */
export interface PushSubscription {
  readonly endpoint: string
  readonly expirationTime?: number | null
  readonly keys: { readonly p256dh: string; readonly auth: string }
}

/** The storage the messenger needs: per tenant and subject, several devices each. */
export interface SubscriptionStore {
  /** Adds or replaces (by endpoint) a subscription of a subject. */
  readonly add: (tenant: string, subject: string, subscription: PushSubscription) => Promise<void>
  readonly list: (tenant: string, subject: string) => Promise<ReadonlyArray<PushSubscription>>
  /** Removes one subscription (by endpoint) or all of a subject's; resolves with the endpoints removed. */
  readonly remove: (tenant: string, subject: string, endpoint?: string) => Promise<ReadonlyArray<string>>
}

/** An in-memory store: one process, lost on restart (fine for tests and single-instance apps). */
export const memory = (): SubscriptionStore => {
  const bySubject = new Map<string, Map<string, PushSubscription>>()
  const key = (tenant: string, subject: string) => `${tenant}\u0000${subject}`
  return {
    add: async (tenant, subject, subscription) => {
      const k = key(tenant, subject)
      const devices = bySubject.get(k) ?? new Map<string, PushSubscription>()
      devices.set(subscription.endpoint, subscription)
      bySubject.set(k, devices)
    },
    list: async (tenant, subject) => [...(bySubject.get(key(tenant, subject))?.values() ?? [])],
    remove: async (tenant, subject, endpoint) => {
      const k = key(tenant, subject)
      const devices = bySubject.get(k)
      if (!devices) return []
      const removed =
        endpoint === undefined ? [...devices.keys()] : devices.delete(endpoint) ? [endpoint] : []
      if (endpoint === undefined) devices.clear()
      if (devices.size === 0) bySubject.delete(k)
      return removed
    },
  }
}
