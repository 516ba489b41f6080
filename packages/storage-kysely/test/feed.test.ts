import { feedConformance } from "@consentkit/core/testing"
import { kyselyStore, openStore } from "@consentkit/storage-kysely"
import { dialects } from "./dialects.js"

// Two stores on one database: separate pools (PostgreSQL, MySQL), separate connections to one
// file (SQLite), or two stores over one in-process PGlite (it has one connection and no LISTEN).
for (const dialect of dialects()) {
  feedConformance(dialect.name, {
    setup: async () => {
      const url = dialect.url()
      const a = await openStore(url)
      const b =
        dialect.name === "pglite"
          ? {
              store: kyselyStore({
                db: a.database.db,
                dialect: a.database.dialect,
                capabilities: a.database.capabilities,
              }),
              close: async () => undefined,
            }
          : await openStore(url, { migrate: false })
      return {
        a: a.store,
        b: b.store,
        teardown: async () => {
          await b.close()
          await a.close()
        },
      }
    },
  })
}
