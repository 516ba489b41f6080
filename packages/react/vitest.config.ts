import { defineProject, mergeConfig } from "vitest/config"
import { project } from "../../vitest.shared.js"

export default mergeConfig(
  project("react"),
  defineProject({ test: { globalSetup: ["test/global-setup.ts"] } }),
)
