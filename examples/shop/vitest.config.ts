import { project } from "../../vitest.shared.js"

// Node receives these conditions as --conditions; "import" there would make CommonJS packages'
// `require()` pick ESM builds, so this project keeps the list to the source condition and Node's own.
const conditions = ["@consentkit/source", "node", "default"]
// Browser tests: starting the shop, seeding it and driving Chromium take longer than unit tests.
const base = project("example-shop", { testTimeout: 180_000 })

export default {
  ...base,
  resolve: { ...base.resolve, conditions },
  ssr: { ...base.ssr, resolve: { ...base.ssr?.resolve, conditions } },
  test: { ...base.test, globalSetup: ["./test/global-setup.ts"] },
}
