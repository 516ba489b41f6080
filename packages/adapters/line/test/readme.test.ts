import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { format } from "node:util"
import { afterAll, expect, it, vi } from "vitest"

const here = fileURLToPath(new URL("..", import.meta.url))
const dir = mkdtempSync(join(here, "test/.readme-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it("runs the README's example and prints what its comments say", async () => {
  const code = readFileSync(join(here, "README.md"), "utf8").match(/```ts\n([\s\S]*?)```/)![1]!
  const file = join(dir, "example.ts")
  writeFileSync(file, code)
  const printed: Array<string> = []
  const log = vi.spyOn(console, "log").mockImplementation((...values: Array<unknown>) => {
    printed.push(format(...values))
  })
  try {
    await import(pathToFileURL(file).href)
  } finally {
    log.mockRestore()
  }
  const promised = [...code.matchAll(/console\.log\(.*\) \/\/ (.+)$/gm)].map((m) => m[1]!)
  expect(promised.length).toBeGreaterThan(0)
  expect(printed).toEqual(promised)
})
