/**
 * The tables of the store, as Kysely sees them before the table prefix is applied. Timestamps
 * are epoch milliseconds (bigint on PostgreSQL and MySQL, which some drivers return as strings),
 * flags are 0/1 integers and JSON is kept as text, so every dialect stores the same values.
 *
 * @since 0.1.0
 */
import type { ColumnType } from "kysely"

/** A bigint column: drivers may return a number, a string or a bigint; we always write numbers. */
export type Int8 = ColumnType<number | string | bigint, number, number>
/** A nullable bigint column. */
export type NullableInt8 = ColumnType<number | string | bigint | null, number | null, number | null>
/** An auto-increment bigint key. */
export type Serial = ColumnType<number | string | bigint, never, never>

/** The SQL dialect families the store speaks. */
export type SqlDialect = "sqlite" | "postgres" | "mysql"

/** One row per known subject: its lock (PostgreSQL, MySQL) and the subject-wide part of its state. */
export interface SubjectTable {
  tenant: string
  subject: string
  /** Chain head seq; null while the row only serves as a lock (no state saved yet). */
  seq: ColumnType<number | null, number | null, number | null>
  head: string | null
  jurisdiction: string | null
  age: number | null
  created_at: Int8
}

/** Aliases (anonymous id, hashed email, LINE user id) linked to a subject. */
export interface AliasTable {
  id: Serial
  tenant: string
  kind: string
  value: string
  subject: string
}

/** The ledger: append-only consent events; erasure replaces a subject's rows with their pseudonymous form. */
export interface EventTable {
  /** Insertion order, which is chain (seq) order within a subject. */
  row_id: Serial
  id: string
  tenant: string
  subject: string
  seq: number
  purpose: string
  action: string
  notice_version: number
  occurred_at: Int8
  recorded_at: Int8
  source: string
  actor_kind: string
  actor_id: string | null
  evidence: string
  jurisdiction: string
  subject_age: number | null
  expires_at: NullableInt8
  command_id: string
  salt: string
  personal_digest: string
  prev_hash: string | null
  hash: string
  erased: number
}

/** Current state per subject and purpose (the projection of the ledger). */
export interface StateTable {
  tenant: string
  subject: string
  purpose: string
  status: string
  notice_version: number
  occurred_at: Int8
  expires_at: NullableInt8
  event_id: string
  seq: number
  source: string
  actor: string
  guardian_granted: number
}

/** The outbox: one intent for one adapter, claimed with a lease. */
export interface OutboxTable {
  id: Serial
  tenant: string
  /** The intent's subject; an erasure scrubs it to the pseudonym once delivered. */
  subject: string
  adapter: string
  intent_id: string
  kind: string
  /** The whole intent as JSON (dates as ISO strings). */
  intent: string
  status: string
  attempts: number
  available_at: Int8
  lease_owner: string | null
  lease_until: Int8
  last_error: string | null
  created_at: Int8
  delivered_at: NullableInt8
}

/** Commands kept under their idempotency key, with the receipt they returned. */
export interface CommandTable {
  id: Serial
  tenant: string
  key: string
  subject: string
  command_id: string
  recorded_at: Int8
  event_ids: string
  receipt: string | null
}

/** Erasure requests, kept by pseudonym; each adapter's progress is its outbox row of `intent_id`. */
export interface ErasureTable {
  tenant: string
  id: string
  pseudonym: string
  requested_at: Int8
  requested_by: string | null
  intent_id: string
  /** The data key the erasure destroyed, and when (null for erasures before crypto-shredding). */
  destroyed_key_id: ColumnType<string | null | undefined, string | null | undefined, string | null>
  destroyed_key_at: ColumnType<
    number | string | bigint | null | undefined,
    number | null | undefined,
    number | null
  >
}

/** Per tenant: the size and compact range of its Merkle log (its row is the tenant's append lock). */
export interface LogHeadTable {
  tenant: string
  size: Int8
  /** The compact range as a JSON array of hex hashes, largest subtree first. */
  range: string
}

/** The tenant's log entries in commit order: leaf `idx` hashes `entry`. */
export interface LogEntryTable {
  tenant: string
  idx: Int8
  kind: string
  /** The event id, or the erasure request id. */
  ref: string
  entry: string
  leaf_hash: string
}

/** Perfect subtrees of the tenant's Merkle tree above the leaves, kept for proofs. */
export interface LogNodeTable {
  tenant: string
  level: number
  idx: Int8
  hash: string
}

/** While an erasure runs (inside its transaction): the one subject whose ledger rows may change. */
export interface ErasurePermitTable {
  tenant: string
  subject: string
}

/** Per subject: the AES-256-GCM key its ledger rows' personal fields are encrypted under; erasure deletes it. */
export interface DataKeyTable {
  tenant: string
  subject: string
  key_id: string
  /** The key, base64. */
  data_key: string
  created_at: Int8
}

/** The change feed: one row per committed write or erasure, in store-wide `position` order (pruned after a window). */
export interface ChangeTable {
  position: Serial
  tenant: string
  subject: string
  /** The subject's ledger position after the change. */
  seq: number
  kind: string
  recorded_at: Int8
}

/** Every table, by its unprefixed name. */
export interface Tables {
  subject: SubjectTable
  alias: AliasTable
  event: EventTable
  state: StateTable
  outbox: OutboxTable
  command: CommandTable
  erasure: ErasureTable
  log_head: LogHeadTable
  log_entry: LogEntryTable
  log_node: LogNodeTable
  erasure_permit: ErasurePermitTable
  data_key: DataKeyTable
  change: ChangeTable
}

/** The unprefixed table names. */
export const TABLES: ReadonlyArray<keyof Tables> = [
  "subject",
  "alias",
  "event",
  "state",
  "outbox",
  "command",
  "erasure",
  "log_head",
  "log_entry",
  "log_node",
  "erasure_permit",
  "data_key",
  "change",
]

/** The default table prefix. */
export const DEFAULT_PREFIX = "consentkit_"

/** Checks a table prefix: lower-case letters, digits and underscores, so it is safe in any identifier. */
export const checkPrefix = (prefix: string): string => {
  if (!/^[a-z_][a-z0-9_]{0,30}$/.test(prefix)) {
    throw new Error(
      `table prefix "${prefix}" must be lower-case letters, digits and underscores (at most 31)`,
    )
  }
  return prefix
}

/** The migration table of a prefix (never renamed: it records which migrations ran). */
export const migrationTable = (prefix: string): string => `${prefix}migration`
