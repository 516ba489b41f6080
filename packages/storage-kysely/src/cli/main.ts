/**
 * The `consentkit` command for operators: migrate, import, export, verify, erase, stats and
 * re-consent impact, each against a database given as a URL or SQLite path (`--db`).
 *
 * @since 0.1.0
 */
import { createReadStream } from "node:fs"
import { stat } from "node:fs/promises"
import { createInterface } from "node:readline"
import type { Readable, Writable } from "node:stream"
import { parseArgs } from "node:util"
import { type Adapter, createConsentKit, Ledger, type Policy } from "@consentkit/core"
import { parse as parseCsv } from "csv-parse"
import { Effect } from "effect"
import { type ImportItem, ImportFailed, importConsents } from "../import.js"
import { migrate } from "../migrate.js"
import { openDatabase, openStore } from "../open.js"
import { reconsentImpact } from "../reconsent.js"
import { loadPolicy } from "./policy.js"
import { progressBar } from "./progress.js"

/** Where the command reads and writes (the process's own streams, or a test's). */
export interface Io {
  readonly stdout: Writable
  readonly stderr: Writable & { readonly isTTY?: boolean }
  readonly stdin: Readable
  readonly env: Readonly<Record<string, string | undefined>>
}

/** A mistake in how the command was called (exit code 64, like sysexits' EX_USAGE). */
class UsageError extends Error {}

const USAGE = `consentkit <command> --db <url|path> [options]

Commands:
  migrate   create or update the tables
  import    import legacy consents from CSV or JSON Lines (a file, or - for stdin)
              --policy <file> --tenant <id> [--format csv|jsonl] [--batch-size 1000] [--concurrency 16]
  export    print everything held about a subject as JSON
              --policy <file> --tenant <id> --subject <id>
  verify    verify hash chains: one subject, or every subject of a tenant
              --tenant <id> [--subject <id>]
  erase     erase a subject (pseudonym secret: --secret or CONSENTKIT_SECRET)
              --policy <file> --tenant <id> --subject <id> [--requested-by <who>] [--adapters a,b]
  stats     consent counts per purpose, notice version, action and day, and outbox health
              --tenant <id> [--from <date>] [--to <date>] [--json]
  impact    who would lose what if a purpose got a new material notice version
              --policy <file> --tenant <id> --purpose <id> --version <n> [--effective-at <date>]

Options:
  --db <url|path>   sqlite:path, a *.sqlite/*.db file, :memory:, postgres://..., pglite:./dir, mysql://...
                    (default: CONSENTKIT_DB)
  --prefix <p>      table name prefix (default consentkit_)
  --policy <file>   policy as JSON (Policy.define's input) or an ES module default-exporting one

Exit codes: 0 done, 1 failed, 2 done but some rows were rejected or chains are broken, 64 usage.`

const OPTIONS = {
  db: { type: "string" },
  prefix: { type: "string" },
  policy: { type: "string" },
  tenant: { type: "string" },
  subject: { type: "string" },
  format: { type: "string" },
  "batch-size": { type: "string" },
  concurrency: { type: "string" },
  secret: { type: "string" },
  "requested-by": { type: "string" },
  adapters: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  json: { type: "boolean" },
  purpose: { type: "string" },
  version: { type: "string" },
  "effective-at": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"]

const required = (values: Values, name: keyof Values, env?: string | undefined): string => {
  const value = values[name] ?? env
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`)
  return value
}

const integer = (text: string | undefined, name: string, fallback: number): number => {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`)
  return n
}

const date = (text: string | undefined, name: string, fallback: Date): Date => {
  if (text === undefined) return fallback
  const d = new Date(text)
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${name} is not a date: ${text}`)
  return d
}

const line = (out: Writable, text = "") => out.write(`${text}\n`)

/** Counts a file's lines quickly, for the progress bar's total. */
const countLines = async (path: string): Promise<number> => {
  let lines = 0
  let last = 10
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++
    last = chunk[chunk.length - 1] ?? last
  }
  return last === 10 ? lines : lines + 1
}

/** CSV rows (header line names the columns); a row csv-parse cannot read becomes a rejected item. */
async function* csvItems(input: Readable): AsyncGenerator<ImportItem> {
  const skipped: Array<ImportItem> = []
  const parser = input.pipe(
    parseCsv({
      columns: true,
      bom: true,
      skip_empty_lines: true,
      trim: true,
      info: true,
      skip_records_with_error: true,
      on_skip: (error) => {
        const at = (error as { lines?: number } | undefined)?.lines ?? 0
        skipped.push({ line: at, problem: error?.message ?? "unreadable CSV row" })
        return undefined
      },
    }),
  )
  for await (const { info, record } of parser as AsyncIterable<{
    info: { lines: number }
    record: Record<string, string>
  }>) {
    while (skipped.length > 0) yield skipped.shift()!
    yield { line: info.lines, row: record }
  }
  yield* skipped
}

/** JSON Lines: one object per line; blank lines are skipped. */
async function* jsonlItems(input: Readable): AsyncGenerator<ImportItem> {
  let n = 0
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    n++
    if (text.trim() === "") continue
    try {
      const row = JSON.parse(text) as unknown
      if (typeof row !== "object" || row === null || Array.isArray(row))
        yield { line: n, problem: "not a JSON object" }
      else yield { line: n, row: row as Record<string, unknown> }
    } catch (error) {
      yield { line: n, problem: `not valid JSON: ${(error as Error).message}` }
    }
  }
}

/** Adapters the CLI enqueues erase intents for; the app's dispatchers deliver them. */
const placeholderAdapters = (names: ReadonlyArray<string>): ReadonlyArray<Adapter.Adapter> =>
  names.map((name) => ({
    name,
    role: "cdp" as const,
    kinds: ["subject.erase" as const],
    categories: [],
    channels: [],
    capabilities: { erase: true, suppress: false },
    deliver: () =>
      Effect.die(new Error(`the consentkit CLI does not deliver to "${name}": run the app's dispatcher`)),
  }))

const withKit = async <A>(
  values: Values,
  io: Io,
  use: (
    kit: ReturnType<typeof createConsentKit<string>>,
    policy: Policy.Policy,
    store: Awaited<ReturnType<typeof openStore>>["store"],
  ) => Promise<A>,
  extra: { secret?: string; adapters?: ReadonlyArray<Adapter.Adapter> } = {},
): Promise<A> => {
  const policy = await loadPolicy(required(values, "policy"))
  const { store, close } = await openStore(required(values, "db", io.env.CONSENTKIT_DB), {
    tablePrefix: values.prefix,
  })
  const kit = createConsentKit({
    policy,
    store,
    secret: extra.secret ?? "consentkit-cli-does-not-erase",
    adapters: extra.adapters ?? [],
    dispatcher: { autoStart: false },
  })
  try {
    return await use(kit, policy, store)
  } finally {
    await kit.close()
    await close()
  }
}

const commands: Record<
  string,
  (values: Values, positionals: ReadonlyArray<string>, io: Io) => Promise<number>
> = {
  migrate: async (values, _, io) => {
    const database = await openDatabase(required(values, "db", io.env.CONSENTKIT_DB))
    try {
      const { applied } = await migrate(database.db, {
        tablePrefix: values.prefix,
        dialect: database.dialect,
      })
      line(io.stdout, applied.length > 0 ? `applied ${applied.join(", ")}` : "already up to date")
      return 0
    } finally {
      await database.close()
    }
  },

  import: async (values, positionals, io) => {
    const file = positionals[0]
    if (!file) throw new UsageError("import needs a file (or - for stdin)")
    const tenant = required(values, "tenant")
    const format = values.format ?? (/\.jsonl?$|\.ndjson$/i.test(file) ? "jsonl" : "csv")
    if (format !== "csv" && format !== "jsonl")
      throw new UsageError(`--format must be csv or jsonl, not ${format}`)
    const batchSize = integer(values["batch-size"], "batch-size", 1_000)
    const concurrency = integer(values.concurrency, "concurrency", 16)
    if (file !== "-") await stat(file)
    const total = file === "-" ? null : Math.max(0, (await countLines(file)) - (format === "csv" ? 1 : 0))
    const input = file === "-" ? io.stdin : createReadStream(file)
    const bar = progressBar(io.stderr, total)
    return withKit(values, io, async (kit) => {
      try {
        const summary = await importConsents(kit, format === "csv" ? csvItems(input) : jsonlItems(input), {
          tenant,
          batchSize,
          concurrency,
          onProgress: (p) => bar.update(p.processed, p.rejected),
        })
        bar.done()
        line(
          io.stdout,
          `imported ${summary.imported} rows, ${summary.duplicates} already present, ${summary.rejected.length} rejected (of ${summary.total})`,
        )
        for (const r of summary.rejected) line(io.stdout, `line ${r.line}: ${r.code}: ${r.reason}`)
        return summary.rejected.length > 0 ? 2 : 0
      } catch (error) {
        bar.done()
        if (error instanceof ImportFailed) {
          line(io.stderr, error.message)
          line(io.stderr, `committed before the failure: ${error.summary.imported} rows`)
          return 1
        }
        throw error
      }
    })
  },

  export: (values, _, io) =>
    withKit(values, io, async (kit) => {
      const subject = required(values, "subject")
      line(io.stdout, JSON.stringify(await kit.export(required(values, "tenant"), subject), null, 2))
      return 0
    }),

  verify: async (values, _, io) => {
    const tenant = required(values, "tenant")
    const { store, close } = await openStore(required(values, "db", io.env.CONSENTKIT_DB), {
      tablePrefix: values.prefix,
    })
    try {
      const check = async (subject: string) => {
        const events = await Effect.runPromise(store.history(tenant, subject))
        const state = await Effect.runPromise(store.state(tenant, subject))
        return Ledger.verify(events, state ? state.head : undefined)
      }
      if (values.subject !== undefined) {
        const result = await check(values.subject)
        line(
          io.stdout,
          result.ok
            ? `ok: ${result.count} events, head ${result.head ?? "(none)"}`
            : `broken: ${result.problem.message}`,
        )
        return result.ok ? 0 : 2
      }
      let checked = 0
      let broken = 0
      let after: string | null = null
      do {
        const page: { subjects: ReadonlyArray<string>; next: string | null } = await Effect.runPromise(
          store.subjects({ tenant, after, limit: 500 }),
        )
        for (const subject of page.subjects) {
          const result = await check(subject)
          checked++
          if (!result.ok) {
            broken++
            line(io.stdout, `${subject}: ${result.problem.kind}: ${result.problem.message}`)
          }
        }
        after = page.next
      } while (after !== null)
      line(io.stdout, `verified ${checked} chains: ${broken === 0 ? "all intact" : `${broken} broken`}`)
      return broken === 0 ? 0 : 2
    } finally {
      await close()
    }
  },

  erase: (values, _, io) => {
    const secret = values.secret ?? io.env.CONSENTKIT_SECRET
    if (!secret)
      throw new UsageError("erase needs the pseudonym secret: --secret or CONSENTKIT_SECRET (the app's own)")
    const adapters = (values.adapters ?? "")
      .split(",")
      .map((a) => a.trim())
      .filter(Boolean)
    return withKit(
      values,
      io,
      async (kit) => {
        const receipt = await kit.erase({
          tenant: required(values, "tenant"),
          subject: required(values, "subject"),
          ...(values["requested-by"] ? { requestedBy: values["requested-by"] } : {}),
        })
        line(io.stdout, JSON.stringify(receipt, null, 2))
        if (adapters.length === 0)
          line(
            io.stderr,
            "note: no --adapters named, so no adapter was asked to erase; only the store was erased",
          )
        return 0
      },
      { secret, adapters: placeholderAdapters(adapters) },
    )
  },

  stats: async (values, _, io) => {
    const tenant = required(values, "tenant")
    const to = date(values.to, "to", new Date())
    const from = date(values.from, "from", new Date(to.getTime() - 30 * 86_400_000))
    const { store, close } = await openStore(required(values, "db", io.env.CONSENTKIT_DB), {
      tablePrefix: values.prefix,
    })
    try {
      const rates = await Effect.runPromise(store.rates({ tenant, from, to }))
      const outbox = await Effect.runPromise(store.outboxStats(tenant))
      if (values.json) {
        line(io.stdout, JSON.stringify({ tenant, from, to, rates, outbox }, null, 2))
        return 0
      }
      line(
        io.stdout,
        `consent events for ${tenant}, ${from.toISOString().slice(0, 10)} to ${to.toISOString().slice(0, 10)}`,
      )
      line(io.stdout, ["day", "purpose", "version", "action", "count"].join("\t"))
      for (const r of rates)
        line(io.stdout, [r.day, r.purpose, r.noticeVersion, r.action, r.count].join("\t"))
      line(io.stdout)
      line(io.stdout, `outbox: ${outbox.pending} pending, ${outbox.delivered} delivered, ${outbox.dead} dead`)
      if (outbox.oldestPendingAt)
        line(io.stdout, `oldest pending since ${outbox.oldestPendingAt.toISOString()}`)
      for (const a of outbox.byAdapter)
        line(io.stdout, `  ${a.adapter}: ${a.pending} pending, ${a.delivered} delivered, ${a.dead} dead`)
      return 0
    } finally {
      await close()
    }
  },

  impact: (values, _, io) =>
    withKit(values, io, async (_kit, policy, store) => {
      const purpose = required(values, "purpose")
      const version = integer(values.version, "version", 0)
      if (version === 0) throw new UsageError("--version is required")
      const impact = await reconsentImpact(store, policy, purpose, version, {
        tenant: required(values, "tenant"),
        effectiveAt: date(values["effective-at"], "effective-at", new Date()),
      })
      if (values.json) line(io.stdout, JSON.stringify(impact, null, 2))
      else {
        line(
          io.stdout,
          `a material version ${impact.version} of "${purpose}" would need ${impact.affected} of ${impact.scanned} consenting subjects to consent again`,
        )
        for (const [kind, counts] of [
          ["purpose", impact.purposes],
          ["channel", impact.channels],
          ["category", impact.categories],
        ] as const) {
          for (const [name, n] of Object.entries(counts))
            line(io.stdout, `  ${kind} ${name}: ${n} would lose it`)
        }
      }
      return 0
    }),
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
