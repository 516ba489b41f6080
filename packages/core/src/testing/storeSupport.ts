/**
 * What the store conformance cases share: the suite's store and kits, and small helpers.
 *
 * @since 0.2.0
 */

import { Effect } from "effect"
import type { Adapter } from "../Adapter.js"
import type { Client } from "../Client.js"
import type { ConsentStoreShape } from "../ConsentStore.js"
import { AdapterError } from "../Errors.js"
import type { Intent } from "../Intent.js"
import * as Tracker from "../Tracker.js"
import type { ConformancePurpose } from "./policy.js"

/** The suite's store (opened in its beforeAll) and a kit factory over it. */
export interface Suite {
  readonly store: () => ConsentStoreShape
  readonly rowsOf: () => ((tenant: string) => Promise<number>) | undefined
  readonly kitWith: (
    adapters?: ReadonlyArray<Adapter>,
    options?: { maxAttempts?: number },
  ) => Client<ConformancePurpose>
}

export const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

/** A tracker that records what reached it, and can be told to fail. */
export const recordingTracker = (name: string) => {
  const seen: Array<Intent> = []
  let failures = 0
  const apply = (intent: Intent) => {
    if (failures > 0) {
      failures--
      throw new AdapterError({ adapter: name, message: "provider unavailable", isRetryable: true })
    }
    seen.push(intent)
  }
  const adapter: Adapter = Tracker.make({
    name,
    stop: async (intent) => apply(intent),
    resume: async (intent) => apply(intent),
    erase: async (intent) => apply(intent),
  })
  return {
    adapter,
    seen,
    failNext: (n: number) => {
      failures = n
    },
  }
}

export const grant = (
  tenant: string,
  subject: string,
  purpose: ConformancePurpose,
  extra: Record<string, unknown> = {},
) => ({
  tenant,
  subject,
  source: "banner",
  decisions: [{ purpose, action: "grant" as const, noticeVersion: 1 }],
  ...extra,
})

export const withdraw = (
  tenant: string,
  subject: string,
  purpose: ConformancePurpose,
  extra: Record<string, unknown> = {},
) => ({
  tenant,
  subject,
  source: "preference-center",
  decisions: [{ purpose, action: "withdraw" as const }],
  ...extra,
})

/**
 * The store contract. Every store (memory, SQLite, PostgreSQL, PGlite, MySQL) runs it; each test
 * creates its own tenant and subjects, and checks what the store really kept.
 */
