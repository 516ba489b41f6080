import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, expect, it } from "vitest"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const readme = readFileSync(join(packageDir, "README.md"), "utf8")
// Inside the package, so the example's imports resolve like an app's would.
const dir = mkdtempSync(join(packageDir, "test/.readme-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it("runs the README's quick start on SQLite and prints what it promises", async () => {
  const code = readme.match(/## Quick start \(SQLite\)\n\n```ts\n([\s\S]*?)```/)?.[1]
  expect(code).toBeDefined()
  const file = join(dir, "example.mts")
  writeFileSync(file, code!)
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--conditions=@consentkit/source", "--import", "tsx", file],
    {
      cwd: dir,
      env: { ...process.env, CONSENTKIT_SECRET: "readme-secret" },
    },
  )
  expect(stdout).toMatch(/allowed: true/)
  expect(stdout).toMatch(/reason: 'granted'/)
}, 120_000)
