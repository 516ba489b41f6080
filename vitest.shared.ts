import { defineProject } from "vitest/config"

// Node receives these as --conditions for externalised dependencies, so only the source condition
// and Node's own: "import" or "module" there would make `require("pg")` load pg-pool's ESM build.
const conditions = ["@consentkit/source", "node", "default"]

/** The vitest project every package uses: reads workspace packages from their source. */
export const project = (name: string, extra: { testTimeout?: number } = {}) =>
  defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    test: {
      name,
      include: ["test/**/*.test.ts"],
      testTimeout: extra.testTimeout ?? 30_000,
      hookTimeout: 60_000,
    },
  })
