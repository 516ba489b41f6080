import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Ledger, State } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { dialects } from "./dialects.js"
import { freshTenant } from "./fixtures/policy.js"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const SUBJECTS = 8
const ROUNDS = 16

/** Starts the writer script in its own Node process; resolves its summary line when it exits. */
const startWriter = (url: string, tenant: string, name: string) => {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@consentkit/source",
      "--import",
      "tsx",
      "test/fixtures/writer.ts",
      url,
      tenant,
      name,
      String(SUBJECTS),
      String(ROUNDS),
    ],
    { cwd: packageDir, stdio: ["pipe", "pipe", "pipe"] },
  )
  let stderr = ""
  child.stderr.on("data", (chunk) => {
    stderr += chunk
  })
  const lines = createInterface({ input: child.stdout })
  const output: Array<string> = []
  let onReady: () => void
  const ready = new Promise<void>((resolve) => {
    onReady = resolve
  })
  lines.on("line", (line) => {
    if (line === "ready") onReady()
    else output.push(line)
  })
  const exited = new Promise<{ name: string; recorded: number; duplicates: number }>((resolve, reject) => {
    child.on("exit", (code) => {
      if (code === 0 && output.length > 0) resolve(JSON.parse(output[output.length - 1]!))
      else reject(new Error(`writer ${name} exited with ${code}: ${stderr}`))
    })
  })
  return { ready, go: () => child.stdin.end("go\n"), exited }
}

// Two processes on one file or server: SQLite (file) and PostgreSQL always when available; the
// in-process engines (PGlite) cannot be shared between processes.
const shared = dialects().filter((d) => d.name === "sqlite" || d.name === "postgres" || d.name === "mysql")

describe.each(shared)("two processes writing the same subjects ($name)", (dialect) => {
  it("lose nothing: state is the fold of the ledger, every chain verifies, no key is recorded twice", async () => {
    const url = dialect.url()
    const tenant = freshTenant("race")
    const { store, close } = await openStore(url)
    try {
      const a = startWriter(url, tenant, "a")
      const b = startWriter(url, tenant, "b")
      await Promise.all([a.ready, b.ready])
      a.go()
      b.go()
      const results = await Promise.all([a.exited, b.exited])

      const sharedKeys = SUBJECTS * ROUNDS
      const ownKeys = 2 * SUBJECTS * ROUNDS
      // Each shared command was recorded by exactly one of the two processes.
      expect(results.reduce((n, r) => n + r.recorded, 0)).toBe(sharedKeys + ownKeys)
      expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(sharedKeys)

      let events = 0
      for (let i = 0; i < SUBJECTS; i++) {
        const subject = `s-${i}`
        const history = await Effect.runPromise(store.history(tenant, subject))
        const state = await Effect.runPromise(store.state(tenant, subject))
        expect(state).not.toBeNull()
        expect(history.map((e) => e.seq)).toEqual(history.map((_, n) => n + 1))
        expect(State.equivalent(state!, State.fold(tenant, subject, history))).toBe(true)
        expect(await Ledger.verifyPromise(history, state!.head)).toMatchObject({
          ok: true,
          count: history.length,
        })
        const receipts = await Effect.runPromise(store.receipts(tenant, subject))
        const keys = receipts.map((r) => r.key)
        expect(new Set(keys).size).toBe(keys.length)
        // One command, one event: a key recorded twice would leave an event without its command.
        const commandIds = new Set(receipts.map((r) => r.commandId))
        expect(history.every((e) => commandIds.has(e.commandId))).toBe(true)
        expect(history).toHaveLength(receipts.length)
        events += history.length
      }
      expect(events).toBe(sharedKeys + ownKeys)
    } finally {
      await close()
    }
  }, 120_000)
})
