/**
 * Where the command reads and writes, and how it reports a usage mistake.
 *
 * @since 0.1.0
 */
import type { Readable, Writable } from "node:stream"

/** Where the command reads and writes (the process's own streams, or a test's). */
export interface Io {
  readonly stdout: Writable
  readonly stderr: Writable & { readonly isTTY?: boolean }
  readonly stdin: Readable
  readonly env: Readonly<Record<string, string | undefined>>
}

/** A mistake in how the command was called (exit code 64, like sysexits' EX_USAGE). */
export class UsageError extends Error {}

/** Writes one line. */
export const line = (out: Writable, text = "") => out.write(`${text}\n`)
