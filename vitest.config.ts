import { defineConfig } from "vitest/config"

// One vitest project per package; every project reads workspace packages from source.
export default defineConfig({
  test: {
    projects: [
      "packages/*/vitest.config.ts",
      "packages/adapters/*/vitest.config.ts",
      "examples/*/vitest.config.ts",
      "reliability/vitest.config.ts",
      "compat/*/vitest.config.ts",
    ],
    reporters: ["default", "./scripts/summary-reporter.ts"],
  },
})
