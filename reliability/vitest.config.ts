import { project } from "../vitest.shared.js"

export default project("reliability", { testTimeout: 120_000 })
