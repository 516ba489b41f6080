import { project } from "../../../vitest.shared.js"

// The in-memory SDK the tests use pins @opentelemetry/api 1.9, whose bundler-only ESM build
// (chosen by the "module" condition) Node cannot load, so this project resolves without it.
const config = project("adapter-otel")
const withoutModule = (conditions: Array<string> | undefined) => conditions?.filter((c) => c !== "module")
if (config.resolve) config.resolve.conditions = withoutModule(config.resolve.conditions)
if (config.ssr?.resolve) config.ssr.resolve.conditions = withoutModule(config.ssr.resolve.conditions)

export default config
