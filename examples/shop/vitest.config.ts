import { existsSync } from "node:fs"
import { configDefaults } from "vitest/config"
import { project } from "../../vitest.shared.js"

// Browser tests: starting the shop, seeding it and driving Chromium take longer than unit tests.
const base = project("example-shop", { testTimeout: 180_000 })

// The browser tests drive Debian's Chromium. CI installs it and always runs them (and fails
// without it); on a developer's machine without it they are left out, with a note saying how to
// run them, like the server suites without their URLs.
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const browser = existsSync(chromium) || Boolean(process.env.CI)
if (!browser) {
  console.warn(
    `example-shop: browser tests left out: no Chromium at ${chromium} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
  )
}

export default {
  ...base,
  test: {
    ...base.test,
    exclude: browser ? configDefaults.exclude : [...configDefaults.exclude, "test/**/*.e2e.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
  },
}
