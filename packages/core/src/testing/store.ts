import { afterAll, beforeAll, describe } from "vitest"
import type { Adapter } from "../Adapter.js"
import { type Client, createConsentKit } from "../Client.js"
import type { ConsentStoreShape } from "../ConsentStore.js"
import { type ConformancePurpose, conformancePolicy } from "./policy.js"
import { ledgerCases } from "./storeLedger.js"
import { outboxCases } from "./storeOutbox.js"

/** What a store under test supplies. */
export interface StoreHarness {
  /** Opens the store (migrated). Called once per suite; every test uses its own tenant. */
  readonly setup: () => Promise<{
    readonly store: ConsentStoreShape
    /** Counts every stored row of a tenant, read from the database directly. */
    readonly rowsOf?: (tenant: string) => Promise<number>
    readonly teardown?: () => Promise<void>
  }>
}

export const storeConformance = (name: string, harness: StoreHarness): void => {
  describe(`store conformance: ${name}`, () => {
    let store: ConsentStoreShape
    let rowsOf: ((tenant: string) => Promise<number>) | undefined
    let teardown: (() => Promise<void>) | undefined
    const kits: Array<Client<ConformancePurpose>> = []

    beforeAll(async () => {
      const opened = await harness.setup()
      store = opened.store
      rowsOf = opened.rowsOf
      teardown = opened.teardown
    })
    afterAll(async () => {
      for (const kit of kits) await kit.close()
      await teardown?.()
    })

    const kitWith = (adapters: ReadonlyArray<Adapter> = [], options: { maxAttempts?: number } = {}) => {
      const kit = createConsentKit({
        policy: conformancePolicy,
        store,
        secret: "conformance-secret-0123456789abcdef0123456789abcdef",
        adapters,
        cache: { ttlMs: 0 },
        dispatcher: {
          autoStart: false,
          maxAttempts: options.maxAttempts ?? 3,
          baseDelayMs: 0,
          maxDelayMs: 0,
        },
      })
      kits.push(kit)
      return kit
    }

    const suite = { store: () => store, rowsOf: () => rowsOf, kitWith }
    ledgerCases(suite)
    outboxCases(suite)
  })
}
