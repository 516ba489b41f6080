import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const readme = readFileSync(join(root, "README.md"), "utf8")
const dir = mkdtempSync(join(root, "packages/core/test/.readme-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it("runs the README's example and prints what the README says", async () => {
  const code = readme.match(/```ts\n([\s\S]*?)```/)?.[1]
  expect(code).toBeDefined()
  const file = join(dir, "example.mts")
  writeFileSync(file, code!)
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--conditions=@consentkit/source", "--import", "tsx", file],
    { cwd: root },
  )
  const promised = [...code!.matchAll(/console\.log\(.*\) \/\/ (\S+)/g)].map((m) => m[1]!.replace(/:$/, ""))
  expect(stdout.trim().split("\n")).toEqual(["true", "withdrawn", "[ 'cust-42' ]", "true"])
  expect(promised).toEqual(["true", '"withdrawn"', '["cust-42"]', "true"])
})
