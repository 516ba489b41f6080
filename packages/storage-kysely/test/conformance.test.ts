import { storeConformance } from "@consentkit/core/testing"
import { Effect } from "effect"
import { openStore } from "@consentkit/storage-kysely"
import { dialects } from "./dialects.js"

for (const dialect of dialects()) {
  storeConformance(dialect.name, {
    setup: async () => {
      const { store, close } = await openStore(dialect.url())
      return {
        store,
        rowsOf: (tenant) => Effect.runPromise(store.rowsOf(tenant)),
        teardown: close,
      }
    },
  })
}
