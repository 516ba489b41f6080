import { runReadmeExample } from "@consentkit/core/testing"
import { afterEach, expect, it, vi } from "vitest"

// The example reads its secrets from the environment, as an app must.
const env = {
  SENDGRID_API_KEY: "SG.readme",
  CONSENTKIT_SECRET: "readme-kit-secret-0123456789abcdef0123456789abcdef",
}
afterEach(() => {
  vi.unstubAllEnvs()
})

it("runs the README's example and prints what its comments say", async () => {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value)
  const { printed, promised } = await runReadmeExample({ packageDir: new URL("..", import.meta.url) })
  expect(promised.length).toBeGreaterThan(0)
  expect(printed).toEqual(promised)
})
