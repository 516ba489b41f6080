/**
 * The command line's options and the small parsers for their values.
 *
 * @since 0.1.0
 */
import type { parseArgs } from "node:util"
import { type Io, UsageError } from "./io.js"

export const OPTIONS = {
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
  key: { type: "string" },
  checkpoint: { type: "string" },
  checkpoints: { type: "string" },
  "public-key": { type: "string" },
  origin: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const

export type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>["values"]

export const required = (values: Values, name: keyof Values, env?: string | undefined): string => {
  const value = values[name] ?? env
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`)
  return value
}

export const integer = (text: string | undefined, name: string, fallback: number): number => {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`)
  return n
}

export const date = (text: string | undefined, name: string, fallback: Date): Date => {
  if (text === undefined) return fallback
  const d = new Date(text)
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${name} is not a date: ${text}`)
  return d
}

/** One command: its parsed options, the positionals after its name, and the streams; resolves with the exit code. */
export type Command = (values: Values, positionals: ReadonlyArray<string>, io: Io) => Promise<number>
