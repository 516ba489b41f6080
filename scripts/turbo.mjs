#!/usr/bin/env node
// Runs the repo's own turbo with its anonymous telemetry off (unless the caller set the variable),
// so `npm run demo`, `npm run build` and `npm test` never print the telemetry notice. A script of
// its own because an inline `VAR=1 turbo …` does not work in Windows shells.
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"

const turbo = createRequire(import.meta.url).resolve("turbo/bin/turbo")
const env = { TURBO_TELEMETRY_DISABLED: "1", ...process.env }
const result = spawnSync(process.execPath, [turbo, ...process.argv.slice(2)], { stdio: "inherit", env })
if (result.error) throw result.error
process.exit(result.status ?? 1)
