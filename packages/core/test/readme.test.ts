import { runReadmeExample } from "@consentkit/core/testing"
import { expect, it } from "vitest"

it("runs the README's example and prints what the README says", async () => {
  const root = new URL("../../../", import.meta.url)
  const { printed, promised } = await runReadmeExample({
    packageDir: new URL("..", import.meta.url),
    readme: new URL("README.md", root),
    run: "process",
    cwd: root,
  })
  expect(printed).toEqual(["true", "withdrawn", "[ 'cust-42' ]", "true"])
  expect(promised.map((line) => line.split(" ")[0]!.replace(/:$/, ""))).toEqual([
    "true",
    '"withdrawn"',
    '["cust-42"]',
    "true",
  ])
})
