import { project } from "../../vitest.shared.js"

export default project("example-scale", { testTimeout: 300_000 })
