import { runReadmeExample } from "@consentkit/core/testing"
import { expect, it } from "vitest"

it("runs the README's quick start on SQLite and prints what it promises", async () => {
  const { printed } = await runReadmeExample({
    packageDir: new URL("..", import.meta.url),
    block: /## Quick start \(SQLite\)\n\n```ts\n([\s\S]*?)```/,
    run: "process",
    env: { CONSENTKIT_SECRET: "readme-secret-0123456789abcdef0123456789abcdef" },
  })
  const stdout = printed.join("\n")
  expect(stdout).toMatch(/allowed: true/)
  expect(stdout).toMatch(/reason: 'granted'/)
}, 120_000)

it("runs the README's proof example: a checkpoint, an audit and a signed receipt", async () => {
  const { printed } = await runReadmeExample({
    packageDir: new URL("..", import.meta.url),
    block: /## Verifiable proof[^\n]*\n[\s\S]*?```ts\n([\s\S]*?)```/,
    run: "process",
  })
  expect(printed).toEqual([
    expect.stringMatching(/^consentkit\/siamtea 1$/),
    "audit ok: true",
    "receipt ok: true",
  ])
}, 120_000)

it("runs the README's change-feed example: a second process refuses once the first withdraws", async () => {
  const { printed } = await runReadmeExample({
    packageDir: new URL("..", import.meta.url),
    block: /## Several instances: the change feed\n[\s\S]*?```ts\n([\s\S]*?)```/,
    run: "process",
    env: { CONSENTKIT_SECRET: "readme-secret-0123456789abcdef0123456789abcdef" },
  })
  expect(printed).toEqual(["true", "withdrawn"])
}, 120_000)
