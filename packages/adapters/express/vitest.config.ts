import { project } from "../../../vitest.shared.js"

// Node receives these conditions as --conditions; "import" there makes Express's router
// `require("is-promise")` load its ESM build (a module namespace, not a function), so this
// package keeps the list to the source condition and Node's own.
const conditions = ["@consentkit/source", "node", "default"]
const base = project("express")

export default {
  ...base,
  resolve: { ...base.resolve, conditions },
  ssr: { ...base.ssr, resolve: { ...base.ssr?.resolve, conditions } },
}
