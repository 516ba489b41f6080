import { storeConformance } from "@consentkit/core/testing"
import { openStore } from "@consentkit/storage-kysely"
import { dialects } from "./dialects.js"
import { rowCount } from "./rows.js"

for (const dialect of dialects()) {
  storeConformance(dialect.name, {
    setup: async () => {
      const { store, close } = await openStore(dialect.url())
      return {
        store,
        rowsOf: (tenant) => rowCount(store.db, tenant),
        teardown: close,
      }
    },
  })
}
