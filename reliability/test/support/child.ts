import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
// Inside the workspace, so the bundle resolves the native drivers from node_modules like the source does.
const CACHE = fileURLToPath(new URL("../../../node_modules/.cache/consentkit-reliability/", import.meta.url))

const bundles = new Map<string, Promise<string>>()

/**
 * Bundles a fixture once per test worker, resolving workspace packages through their
 * `@consentkit/source` condition (so it runs today's source, like `--import tsx`). A child started
 * with tsx spends ~6 s loading hundreds of modules on two shared cores; the bundle starts in ~1 s,
 * which is what lets the crash test kill and restart a dispatcher ten times in a few seconds.
 */
const bundle = (script: string): Promise<string> => {
  let built = bundles.get(script)
  if (!built) {
    mkdirSync(CACHE, { recursive: true })
    const outfile = `${CACHE}${script.replace(/\.ts$/, "")}-${process.pid}.mjs`
    built = build({
      entryPoints: [`${ROOT}test/fixtures/${script}`],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["@consentkit/source"],
      // Native and optional drivers load from node_modules at run time.
      external: ["better-sqlite3", "pg", "pg-native", "mysql2", "@electric-sql/pglite"],
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: "warning",
    }).then(() => outfile)
    bundles.set(script, built)
  }
  return built
}

/** A fixture running as its own Node process. */
export interface Child {
  readonly process: ChildProcess
  /** Resolves with the first stdout line equal to `line` (or starting with `line + " "`); rejects if the process exits first. */
  readonly waitFor: (line: string) => Promise<string>
  /** Writes a line to the child's stdin. */
  readonly send: (line: string) => void
  /** Every stdout line so far. */
  readonly lines: ReadonlyArray<string>
  /** Resolves with the exit code (or the signal) once the process is gone. */
  readonly exited: Promise<number | NodeJS.Signals | null>
  /** SIGKILL, then wait for the exit. */
  readonly kill9: () => Promise<void>
  readonly stderr: () => string
}

/** Starts `test/fixtures/<script>` as a child process. */
export const startChild = async (script: string, args: ReadonlyArray<string>): Promise<Child> => {
  const file = await bundle(script)
  const child = spawn(process.execPath, [file, ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  })
  // Writing to a child that was just killed must not fail the test run.
  child.stdin!.on("error", () => undefined)
  const lines: Array<string> = []
  let stderr = ""
  let buffered = ""
  const matches = (line: string, wanted: string) => line === wanted || line.startsWith(`${wanted} `)
  const waiters: Array<{ line: string; resolve: (line: string) => void }> = []
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk
    for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
      const line = buffered.slice(0, at)
      buffered = buffered.slice(at + 1)
      lines.push(line)
      for (const w of waiters.filter((w) => matches(line, w.line))) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code)),
  )
  return {
    process: child,
    lines,
    exited,
    stderr: () => stderr,
    send: (line) => {
      child.stdin!.write(`${line}\n`)
    },
    waitFor: (line) => {
      const seen = lines.find((l) => matches(l, line))
      return seen !== undefined
        ? Promise.resolve(seen)
        : new Promise<string>((resolve, reject) => {
            waiters.push({ line, resolve })
            void exited.then((code) =>
              reject(new Error(`${script} exited (${String(code)}) before printing "${line}":\n${stderr}`)),
            )
          })
    },
    kill9: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      await exited
    },
  }
}
