/**
 * Reading an import file: CSV or JSON Lines, as items for core's `importConsents`.
 *
 * @since 0.1.0
 */
import { createReadStream } from "node:fs"
import { createInterface } from "node:readline"
import type { Readable } from "node:stream"
import type { Import } from "@consentkit/core"
import { parse as parseCsv } from "csv-parse"

/** Counts a file's lines quickly, for the progress bar's total. */
export const countLines = async (path: string): Promise<number> => {
  let lines = 0
  let last = 10
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++
    last = chunk[chunk.length - 1] ?? last
  }
  return last === 10 ? lines : lines + 1
}

/** CSV rows (header line names the columns); a row csv-parse cannot read becomes a rejected item. */
export async function* csvItems(input: Readable): AsyncGenerator<Import.ImportItem> {
  const skipped: Array<Import.ImportItem> = []
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
export async function* jsonlItems(input: Readable): AsyncGenerator<Import.ImportItem> {
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
