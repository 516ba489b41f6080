import { runReadmeExample } from "@consentkit/core/testing"
import { expect, it } from "vitest"

it("runs the README's server example and prints what its comments say", async () => {
  const { printed, promised } = await runReadmeExample({ packageDir: new URL("..", import.meta.url) })
  expect(promised.length).toBeGreaterThan(0)
  expect(printed).toEqual(promised)
})
