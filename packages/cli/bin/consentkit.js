#!/usr/bin/env node
// The `consentkit` executable. It is committed (npm links it at `npm ci`, before anything is
// built) and only loads the built command line from ../dist.
import { existsSync } from "node:fs"

const main = new URL("../dist/main.js", import.meta.url)
if (!existsSync(main)) {
  process.stderr.write(
    "consentkit: @consentkit/cli is not built yet (no dist/main.js): run npm run build first\n",
  )
  process.exit(1)
}
const { run } = await import(main.href)
await run()
