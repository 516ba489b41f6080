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

it("runs the README's several-instances example: B refuses once A withdraws", async () => {
  const { printed } = await runReadmeExample({
    packageDir: new URL("..", import.meta.url),
    block: /## Several instances\n[\s\S]*?```ts\n([\s\S]*?)```/,
    run: "process",
    env: { CONSENTKIT_SECRET: "readme-secret-0123456789abcdef0123456789abcdef" },
  })
  expect(printed).toEqual(["true", "withdrawn", "true"])
}, 120_000)
