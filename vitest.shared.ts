import { defineProject } from "vitest/config"

/** The vitest project every package uses: reads workspace packages from their source. */
export const project = (name: string, extra: { testTimeout?: number } = {}) =>
  defineProject({
    resolve: { conditions: ["@consentkit/source", "module", "node", "import", "default"] },
    ssr: { resolve: { conditions: ["@consentkit/source", "module", "node", "import", "default"] } },
    test: {
      name,
      include: ["test/**/*.test.ts"],
      testTimeout: extra.testTimeout ?? 30_000,
      hookTimeout: 60_000,
    },
  })
