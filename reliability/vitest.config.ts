import { project } from "../vitest.shared.js"

// Node receives these conditions as --conditions; "import" there makes `require("pg")` load
// pg-pool's ESM build (a module namespace, not a class), so the suite keeps the list to the
// source condition and Node's own, like storage-kysely does.
const conditions = ["@consentkit/source", "node", "default"]
const base = project("reliability", { testTimeout: 120_000 })

export default {
  ...base,
  resolve: { ...base.resolve, conditions },
  ssr: { ...base.ssr, resolve: { ...base.ssr?.resolve, conditions } },
}
