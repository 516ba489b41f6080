/**
 * Bulk import of existing consents (a spreadsheet, another platform's export): every row goes
 * through core's validation and the runtime's `record`, so chains, state, receipts and intents
 * are exactly what recording them live would give, with the original time, notice version and
 * source kept. Rows of one subject are recorded in file order; subjects run side by side; on
 * SQLite a batch of rows shares one commit.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import type { Client } from "./Client.js"
import * as ConsentKit from "./ConsentKit.js"
import { rowFromRecord } from "./internal/importRow.js"
import { StoreError } from "./Errors.js"
import type * as Ledger from "./Ledger.js"
import { Effect } from "effect"

/** One legacy consent: one decision of one subject, as it was made. */
export interface ImportRow {
  readonly tenant?: string
  readonly subject: string
  readonly purpose: string
  readonly action: Ledger.Action
  /** The notice version the subject saw (required for grants). */
  readonly noticeVersion?: number
  /** When the subject decided: ISO 8601, epoch milliseconds or a Date. */
  readonly occurredAt: string | number | Date
  /** The collection point in the old system (default `import`). */
  readonly source?: string
  readonly jurisdiction?: string
  readonly age?: number
  readonly actor?: Ledger.Actor
  readonly evidence?: Ledger.Evidence
  /** Default: derived from the rows of its command, so running the same import twice records each row once. */
  readonly idempotencyKey?: string
}

/** A row with where it came from; `problem` marks a row that could not even be read. */
export interface ImportItem {
  readonly line: number
  readonly row?: ImportRow | Record<string, unknown>
  readonly problem?: string
}

/** A row that was not imported, and why. */
export interface RejectedRow {
  readonly line: number
  readonly reason: string
  readonly code: string
}

/** What an import did. */
export interface ImportSummary {
  readonly total: number
  readonly imported: number
  /** Rows already recorded (same idempotency key): nothing new was written. */
  readonly duplicates: number
  readonly rejected: ReadonlyArray<RejectedRow>
}

/** Progress, reported after each batch. */
export interface ImportProgress {
  readonly processed: number
  readonly imported: number
  readonly duplicates: number
  readonly rejected: number
}

/** Options of `importConsents`. */
export interface ImportOptions {
  /** Tenant for rows that do not name one. */
  readonly tenant?: string
  /** Rows read and committed together (default 1,000). */
  readonly batchSize?: number
  /** Subjects recorded at once (default 16). */
  readonly concurrency?: number
  /** Derive an idempotency key from each row that has none (default true). */
  readonly deriveIdempotencyKeys?: boolean
  readonly onProgress?: (progress: ImportProgress) => void
}

/** The import stopped because the store failed; rows before the failed batch were committed. */
export class ImportFailed extends Error {
  override readonly name = "ImportFailed"
  constructor(
    message: string,
    readonly summary: ImportSummary,
    options: { readonly cause: unknown },
  ) {
    super(message, options)
  }
}

/** A runtime to record through: the Effect service's value, or the Promise client. */
export type ImportTarget = ConsentKit.ConsentKitShape | ClientTarget

/** What import needs of a Promise client, whatever its policy's purpose ids. */
export type ClientTarget = Pick<Client<string>, "runtime" | "close">

const isClient = (kit: ImportTarget): kit is ClientTarget => "runtime" in kit && "close" in kit

/** The runtime behind either API. */
export const runtimeOf = async (kit: ImportTarget): Promise<ConsentKit.ConsentKitShape> =>
  isClient(kit) ? kit.runtime.runPromise(ConsentKit.ConsentKit.use(Effect.succeed)) : kit

/**
 * A store that can run many subject transactions in one commit (the Kysely store on SQLite does).
 * Import uses it when the store has it: one commit per batch.
 */
export interface BatchingStore {
  readonly batch: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
}

const isBatching = (store: unknown): store is BatchingStore =>
  typeof (store as { batch?: unknown }).batch === "function"

export { rowFromRecord }

/** The record command for one row (without an idempotency key). */
const commandOf = (row: Record<string, unknown>, options: ImportOptions): Record<string, unknown> => {
  const { tenant, subject, purpose, action, noticeVersion, source, idempotencyKey: _key, ...rest } = row
  return {
    ...rest,
    tenant: tenant ?? options.tenant,
    subject,
    source: source ?? "import",
    decisions: [noticeVersion === undefined ? { purpose, action } : { purpose, action, noticeVersion }],
  }
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex")

/** A readable row, waiting to be recorded. */
interface Pending {
  readonly line: number
  readonly command: Record<string, unknown>
  readonly purpose: unknown
  /** Rows with the same shape (subject, time, source, actor, evidence, ...) can share one command. */
  readonly shape: string
  /** What identifies the row's content; a command's derived idempotency key hashes its rows'. */
  readonly rowKey: string
  readonly explicitKey: string | null
}

/** One record command made of consecutive rows of one subject. */
interface Group {
  readonly rows: ReadonlyArray<Pending>
  readonly command: Record<string, unknown>
}

type Outcome = {
  readonly kind: "imported" | "duplicate" | "rejected"
  readonly lines: ReadonlyArray<number>
  readonly reason?: string
  readonly code?: string
}

const MAX_DECISIONS = 100

/**
 * Imports rows through the runtime's `record`, which validates them: a rejected row is reported
 * with its line and reason and the rest go on. Consecutive rows of one subject made at the same
 * time through the same collection point become one command (one receipt), as they were one
 * decision in the old system; when such a command is refused, its rows are recorded one by one
 * so each bad row is named. A store failure stops the import (`ImportFailed`).
 */
export const importConsents = async (
  kit: ImportTarget,
  rows: Iterable<ImportItem | ImportRow> | AsyncIterable<ImportItem | ImportRow>,
  options: ImportOptions = {},
): Promise<ImportSummary> => {
  const runtime = await runtimeOf(kit)
  const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
    isClient(kit) ? kit.runtime.runPromise(effect) : Effect.runPromise(effect)
  const batchSize = Math.max(1, options.batchSize ?? 1_000)
  const concurrency = Math.max(1, options.concurrency ?? 16)
  const derive = options.deriveIdempotencyKeys !== false
  const store = runtime.store
  const rejected: Array<RejectedRow> = []
  let total = 0
  let imported = 0
  let duplicates = 0

  /** Reads a row into its command; what only the policy can judge is left to `record`'s validation. */
  const pending = (item: ImportItem): Pending | RejectedRow => {
    if (item.problem !== undefined || item.row === undefined)
      return { line: item.line, reason: item.problem ?? "empty row", code: "MALFORMED" }
    const row = rowFromRecord(item.row as Record<string, unknown>)
    // An import keeps when each decision was made: a row without its time must not become "now".
    if (row.occurredAt === undefined)
      return {
        line: item.line,
        reason: "occurredAt: is required (when the subject decided)",
        code: "MALFORMED",
      }
    const at =
      row.occurredAt instanceof Date
        ? row.occurredAt.getTime()
        : typeof row.occurredAt === "number"
          ? row.occurredAt
          : Date.parse(String(row.occurredAt))
    if (Number.isNaN(at)) {
      return {
        line: item.line,
        reason: `occurredAt: "${String(row.occurredAt)}" is not a date (use ISO 8601, e.g. 2025-03-01T10:00:00Z)`,
        code: "MALFORMED",
      }
    }
    const command = commandOf(row, options)
    const shape = JSON.stringify([
      command.tenant,
      command.subject,
      at,
      command.source,
      command.actor ?? null,
      command.evidence ?? null,
      command.jurisdiction ?? null,
      command.age ?? null,
    ])
    return {
      line: item.line,
      command,
      purpose: row.purpose,
      shape,
      rowKey: JSON.stringify([shape, row.purpose, row.action, row.noticeVersion ?? null]),
      explicitKey: typeof row.idempotencyKey === "string" ? row.idempotencyKey : null,
    }
  }

  const groupOf = (rows: ReadonlyArray<Pending>): Group => {
    const first = rows[0]!
    const command: Record<string, unknown> = {
      ...first.command,
      decisions: rows.flatMap((r) => r.command.decisions as Array<unknown>),
    }
    if (first.explicitKey !== null) command.idempotencyKey = first.explicitKey
    else if (derive)
      command.idempotencyKey = `import:${digest(rows.map((r) => r.rowKey).join("\n")).slice(0, 48)}`
    return { rows, command }
  }

  /** Consecutive rows of one subject with one shape and distinct purposes become one command. */
  const groupsOf = (rows: ReadonlyArray<Pending>): Array<Group> => {
    const groups: Array<Group> = []
    let open: Array<Pending> = []
    for (const r of rows) {
      const head = open[0]
      const joins =
        head !== undefined &&
        head.explicitKey === null &&
        r.explicitKey === null &&
        head.shape === r.shape &&
        open.length < MAX_DECISIONS &&
        !open.some((o) => o.purpose === r.purpose)
      if (!joins && open.length > 0) {
        groups.push(groupOf(open))
        open = []
      }
      open.push(r)
    }
    if (open.length > 0) groups.push(groupOf(open))
    return groups
  }

  const recordGroup = (group: Group): Effect.Effect<ReadonlyArray<Outcome>, StoreError> =>
    runtime.record(group.command).pipe(
      Effect.map(
        (result): ReadonlyArray<Outcome> => [
          { kind: result.duplicate ? "duplicate" : "imported", lines: group.rows.map((r) => r.line) },
        ],
      ),
      Effect.catchTag("InvalidCommand", (error) =>
        group.rows.length === 1
          ? Effect.succeed<ReadonlyArray<Outcome>>([
              {
                kind: "rejected",
                lines: [group.rows[0]!.line],
                reason: error.message.replace(/^invalid command: /, ""),
                code: error.code,
              },
            ])
          : // Refused by validation, so nothing was written: record the rows one by one to name the bad ones.
            Effect.map(
              Effect.forEach(group.rows, (r) => recordGroup(groupOf([r]))),
              (each) => each.flat(),
            ),
      ),
    )

  const flush = async (batch: ReadonlyArray<ImportItem>) => {
    // Rows of one subject stay in file order; different subjects are recorded side by side.
    const subjects = new Map<string, Array<Pending>>()
    const refused: Array<RejectedRow> = []
    for (const item of batch) {
      const checked = pending(item)
      if ("reason" in checked) {
        refused.push(checked)
        continue
      }
      const key = `${String(checked.command.tenant)}\u0000${String(checked.command.subject)}`
      const list = subjects.get(key)
      if (list) list.push(checked)
      else subjects.set(key, [checked])
    }
    const work = Effect.forEach(
      [...subjects.values()],
      (rows) => Effect.map(Effect.forEach(groupsOf(rows), recordGroup), (each) => each.flat()),
      { concurrency },
    )
    let outcomes: ReadonlyArray<ReadonlyArray<Outcome>>
    try {
      outcomes = await run(isBatching(store) ? store.batch(work) : work)
    } catch (cause) {
      // The batch rolled back: whatever the runtime cached for its subjects is gone too.
      for (const key of subjects.keys()) {
        const [tenant, subject] = key.split("\u0000")
        runtime.invalidate(tenant!, subject!)
      }
      const summary = { total, imported, duplicates, rejected: [...rejected] }
      const message = cause instanceof StoreError ? cause.message : String((cause as Error)?.message ?? cause)
      throw new ImportFailed(`import stopped at line ${batch[0]?.line ?? "?"}: ${message}`, summary, {
        cause,
      })
    }
    rejected.push(...refused)
    for (const outcome of outcomes.flat()) {
      const n = outcome.lines.length
      if (outcome.kind === "imported") imported += n
      else if (outcome.kind === "duplicate") duplicates += n
      else
        for (const line of outcome.lines)
          rejected.push({ line, reason: outcome.reason ?? "rejected", code: outcome.code ?? "MALFORMED" })
    }
    total += batch.length
    options.onProgress?.({ processed: total, imported, duplicates, rejected: rejected.length })
  }

  const subjectOf = (item: ImportItem) => {
    const row = item.row as Record<string, unknown> | undefined
    return row ? `${String(row.tenant ?? "")}\u0000${String(row.subject ?? "")}` : null
  }

  let batch: Array<ImportItem> = []
  let index = 0
  for await (const entry of rows as AsyncIterable<ImportItem | ImportRow>) {
    index++
    const item: ImportItem =
      "line" in entry && typeof entry.line === "number"
        ? (entry as ImportItem)
        : { line: index, row: entry as ImportRow }
    // A batch ends between subjects, so a subject's consecutive rows group the same whatever the batch size.
    const last = batch[batch.length - 1]
    if (
      last &&
      (batch.length >= batchSize * 10 || (batch.length >= batchSize && subjectOf(last) !== subjectOf(item)))
    ) {
      await flush(batch)
      batch = []
    }
    batch.push(item)
  }
  if (batch.length > 0) await flush(batch)
  rejected.sort((a, b) => a.line - b.line)
  return { total, imported, duplicates, rejected }
}
