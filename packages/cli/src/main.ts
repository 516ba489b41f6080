/**
 * The `consentkit` command for operators: migrate, import, export, verify, erase, stats and
 * re-consent impact, each against a database given as a URL or SQLite path (`--db`).
 *
 * @since 0.1.0
 */
import { parseArgs } from "node:util"
import { type Command, OPTIONS } from "./args.js"
import { checkpoint } from "./commands/checkpoint.js"
import { erase } from "./commands/erase.js"
import { exportCommand } from "./commands/export.js"
import { impact } from "./commands/impact.js"
import { importCommand } from "./commands/import.js"
import { migrate } from "./commands/migrate.js"
import { stats } from "./commands/stats.js"
import { verify } from "./commands/verify.js"
import { verifyReceipt } from "./commands/verify-receipt.js"
import { type Io, line, UsageError } from "./io.js"
import { USAGE } from "./usage.js"

export type { Io } from "./io.js"

const commands: Record<string, Command> = {
  migrate,
  import: importCommand,
  export: exportCommand,
  verify,
  checkpoint,
  "verify-receipt": verifyReceipt,
  erase,
  stats,
  impact,
}

/** Runs the command line; resolves with the exit code. */
export const main = async (argv: ReadonlyArray<string>, io: Io): Promise<number> => {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true })
  } catch (error) {
    line(io.stderr, (error as Error).message)
    line(io.stderr, USAGE)
    return 64
  }
  const [name, ...rest] = parsed.positionals
  if (!name || name === "help" || parsed.values.help) {
    line(name || parsed.values.help ? io.stdout : io.stderr, USAGE)
    return name || parsed.values.help ? 0 : 64
  }
  const command = commands[name]
  if (!command) {
    line(io.stderr, `unknown command "${name}"`)
    line(io.stderr, USAGE)
    return 64
  }
  try {
    return await command(parsed.values, rest, io)
  } catch (error) {
    if (error instanceof UsageError) {
      line(io.stderr, error.message)
      return 64
    }
    const e = error as { message?: string; _tag?: string }
    line(io.stderr, `consentkit ${name} failed: ${e.message ?? String(error)}`)
    return 1
  }
}

/** Runs the command line on this process's arguments and streams, and sets its exit code. */
export const run = async (argv: ReadonlyArray<string> = process.argv.slice(2)): Promise<void> => {
  process.exitCode = await main(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
  })
}
