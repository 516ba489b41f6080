/**
 * `consentkit import`: Imports legacy consents from CSV or JSON Lines, with a progress bar on stderr.
 *
 * @since 0.1.0
 */
import { createReadStream } from "node:fs"
import { stat } from "node:fs/promises"
import { ImportFailed, importConsents } from "@consentkit/core"
import { type Command, integer, required } from "../args.js"
import { line, UsageError } from "../io.js"
import { countLines, csvItems, jsonlItems } from "../items.js"
import { withKit } from "../kit.js"
import { progressBar } from "../progress.js"

/** `consentkit import`. */
export const importCommand: Command = async (values, positionals, io) => {
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
}
