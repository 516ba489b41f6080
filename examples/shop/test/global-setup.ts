import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

// The shop serves @consentkit/web's browser build, as a real app would: build it (and what it
// needs) first. Turbo's cache makes this a no-op when nothing changed.
export default function setup(): void {
  const root = fileURLToPath(new URL("../../..", import.meta.url))
  execFileSync("npx", ["turbo", "run", "build", "--filter=@consentkit/web", "--output-logs=errors-only"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  })
}
