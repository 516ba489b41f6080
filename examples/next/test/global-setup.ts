import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

// The test serves the production build, as a deployment would: build it (and the packages it
// uses) first. Turbo's cache makes this a no-op when nothing changed.
export default function setup(): void {
  const root = fileURLToPath(new URL("../../..", import.meta.url))
  execFileSync(
    "npx",
    ["turbo", "run", "build", "--filter=@consentkit/example-next", "--output-logs=errors-only"],
    {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", NEXT_TELEMETRY_DISABLED: "1" },
    },
  )
}
