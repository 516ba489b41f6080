/**
 * Runs a README's example the way a reader would: the code block is written to a file inside the
 * package (so its imports resolve like an app's), run, and what it printed is returned beside what
 * its `console.log(...) // <expected>` comments promise.
 *
 * @since 0.2.0
 */
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { format, promisify } from "node:util"
import { vi } from "vitest"

/** Options of `runReadmeExample`. */
export interface ReadmeOptions {
  /** The package folder (its `README.md` is read and the example file is written under its `test/`). */
  readonly packageDir: string | URL
  /** Another README than the package's own (e.g. the repository's). */
  readonly readme?: string | URL
  /** Picks the code block: its first capture group is the code. Default: the first ```ts block. */
  readonly block?: RegExp
  /**
   * `import` runs it inside the test process, collecting `console.log`; `process` runs it as
   * `node --import tsx` (for examples that exit, or own the process) and collects stdout lines.
   */
  readonly run?: "import" | "process"
  /** Environment of a `process` run, over the test's own. */
  readonly env?: Readonly<Record<string, string>>
  /** Working directory of a `process` run (default: the example's folder). */
  readonly cwd?: string | URL
  /** Time limit of a `process` run (default 120 s). */
  readonly timeoutMs?: number
}

/** What the example printed and what its comments promised, in order. */
export interface ReadmeRun {
  readonly code: string
  readonly printed: ReadonlyArray<string>
  readonly promised: ReadonlyArray<string>
}

const path = (value: string | URL): string => (typeof value === "string" ? value : fileURLToPath(value))

/** The text after `// ` on every line that calls `console.log(...)`. */
export const promisedOutput = (code: string): ReadonlyArray<string> =>
  [...code.matchAll(/console\.log\(.*\) \/\/ (.+)$/gm)].map((m) => m[1]!)

/** Writes the README's example into the package, runs it, and returns what it printed. */
export const runReadmeExample = async (options: ReadmeOptions): Promise<ReadmeRun> => {
  const packageDir = path(options.packageDir)
  const readme = readFileSync(options.readme ? path(options.readme) : join(packageDir, "README.md"), "utf8")
  const code = readme.match(options.block ?? /```ts\n([\s\S]*?)```/)?.[1]
  if (code === undefined) throw new Error(`no example matching ${options.block ?? "```ts"} in the README`)
  const dir = mkdtempSync(join(packageDir, "test/.readme-"))
  try {
    const file = join(dir, "example.mts")
    writeFileSync(file, code)
    // A reader exports CONSENTKIT_SECRET before running an example; the test does it for them.
    const unset = process.env.CONSENTKIT_SECRET === undefined
    if (unset) process.env.CONSENTKIT_SECRET = randomBytes(32).toString("base64url")
    try {
      const printed = options.run === "process" ? await inProcess(file, dir, options) : await imported(file)
      return { code, printed, promised: promisedOutput(code) }
    } finally {
      if (unset) delete process.env.CONSENTKIT_SECRET
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const imported = async (file: string): Promise<ReadonlyArray<string>> => {
  const printed: Array<string> = []
  const log = vi.spyOn(console, "log").mockImplementation((...values: Array<unknown>) => {
    printed.push(format(...values))
  })
  try {
    await import(pathToFileURL(file).href)
  } finally {
    log.mockRestore()
  }
  return printed
}

const inProcess = async (
  file: string,
  dir: string,
  options: ReadmeOptions,
): Promise<ReadonlyArray<string>> => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--conditions=@consentkit/source", "--import", "tsx", file],
    {
      cwd: options.cwd ? path(options.cwd) : dir,
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 120_000,
    },
  )
  return stdout.trimEnd().split("\n")
}
