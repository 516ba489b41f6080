import { existsSync } from "node:fs"
import { configDefaults } from "vitest/config"
import { project } from "../../vitest.shared.js"

const base = project("example-next", { testTimeout: 180_000 })

// Like the shop: the browser test drives Debian's Chromium; CI installs it and always runs it.
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const browser = existsSync(chromium) || Boolean(process.env.CI)
if (!browser) console.warn(`example-next: browser test left out: no Chromium at ${chromium}`)

export default {
  ...base,
  test: {
    ...base.test,
    exclude: browser ? configDefaults.exclude : [...configDefaults.exclude, "test/**/*.e2e.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
  },
}
