import type { Ledger, State } from "@consentkit/core"
import type { Kysely } from "kysely"
import { eventRow, stateRow } from "../internal/codec.js"
import { prepare, preparedBy, slot } from "../internal/prepared.js"
import type { Tables } from "../schema.js"
import type { StoreDialect } from "./dialect.js"

// Shapes used only to read the column lists of the row codecs.
const sampleEvent: Ledger.ConsentEvent = {
  id: "",
  tenant: "",
  subject: "",
  seq: 0,
  purpose: "",
  action: "grant",
  noticeVersion: 0,
  occurredAt: new Date(0),
  recordedAt: new Date(0),
  source: "",
  actor: { kind: "subject" },
  evidence: {},
  jurisdiction: "",
  subjectAge: null,
  expiresAt: null,
  commandId: "",
  salt: "",
  personalDigest: "",
  prevHash: null,
  hash: "",
  erased: false,
}
const samplePurpose: State.PurposeState = {
  purpose: "",
  status: "granted",
  noticeVersion: 0,
  occurredAt: new Date(0),
  expiresAt: null,
  eventId: "",
  seq: 0,
  source: "",
  actor: "subject",
  guardianGranted: false,
}

const EVENT_COLUMNS = Object.keys(eventRow(sampleEvent)) as Array<keyof ReturnType<typeof eventRow>>
const STATE_COLUMNS = Object.keys(stateRow("", "", samplePurpose)) as Array<keyof ReturnType<typeof stateRow>>
const STATE_VALUES = STATE_COLUMNS.filter((c) => c !== "tenant" && c !== "subject" && c !== "purpose")
const OUTBOX_COLUMNS = [
  "tenant",
  "subject",
  "adapter",
  "intent_id",
  "kind",
  "intent",
  "status",
  "attempts",
  "available_at",
  "lease_owner",
  "lease_until",
  "last_error",
  "created_at",
  "delivered_at",
] as const

const named = <const C extends string>(columns: ReadonlyArray<C>) =>
  Object.fromEntries(columns.map((c) => [c, slot(c)])) as Record<C, never>
const rowsOf = <C extends string>(columns: ReadonlyArray<C>, n: number) =>
  Array.from(
    { length: n },
    (_, i) => Object.fromEntries(columns.map((c) => [c, slot(`${i}:${c}`)])) as Record<C, never>,
  )
const byKey = { tenant: slot("tenant"), subject: slot("subject") }

/** The write path's queries, compiled once per store (and per row count for inserts). */
export const statements = (db: Kysely<Tables>, dialect: StoreDialect) => {
  const lockRow = db.insertInto("subject").values({
    ...byKey,
    seq: null,
    head: null,
    jurisdiction: null,
    age: null,
    created_at: slot("created_at"),
  })
  const subjectRow = db
    .insertInto("subject")
    .values(named(["tenant", "subject", "seq", "head", "jurisdiction", "age", "created_at"]))
  const commandRow = db
    .insertInto("command")
    .values(named(["tenant", "key", "subject", "command_id", "recorded_at", "event_ids", "receipt"]))
  return {
    // The subject row and its purposes in one read (a subject without purposes still has its row).
    state: prepare(
      db
        .selectFrom("subject as s")
        .leftJoin("state as p", (join) =>
          join.onRef("p.tenant", "=", "s.tenant").onRef("p.subject", "=", "s.subject"),
        )
        .select([
          "s.tenant as s_tenant",
          "s.subject as s_subject",
          "s.seq as s_seq",
          "s.head as s_head",
          "s.jurisdiction as s_jurisdiction",
          "s.age as s_age",
          "p.purpose",
          "p.status",
          "p.notice_version",
          "p.occurred_at",
          "p.expires_at",
          "p.event_id",
          "p.seq",
          "p.source",
          "p.actor",
          "p.guardian_granted",
        ])
        .where("s.tenant", "=", byKey.tenant)
        .where("s.subject", "=", byKey.subject),
    ),
    command: prepare(
      db.selectFrom("command").selectAll().where("tenant", "=", byKey.tenant).where("key", "=", slot("key")),
    ),
    lock: prepare(
      db
        .selectFrom("subject")
        .select("seq")
        .where("tenant", "=", byKey.tenant)
        .where("subject", "=", byKey.subject)
        .forUpdate(),
    ),
    insertLock: prepare(dialect.insertIfMissing(lockRow, { tenant: byKey.tenant })),
    saveSubject: prepare(
      dialect.upsert(subjectRow, ["tenant", "subject"], named(["seq", "head", "jurisdiction", "age"])),
    ),
    insertEvents: preparedBy((n: number) => db.insertInto("event").values(rowsOf(EVENT_COLUMNS, n))),
    insertStates: preparedBy((n: number) => db.insertInto("state").values(rowsOf(STATE_COLUMNS, n))),
    updateState: prepare(
      db
        .updateTable("state")
        .set(named(STATE_VALUES))
        .where("tenant", "=", byKey.tenant)
        .where("subject", "=", byKey.subject)
        .where("purpose", "=", slot("purpose")),
    ),
    deleteState: prepare(
      db
        .deleteFrom("state")
        .where("tenant", "=", byKey.tenant)
        .where("subject", "=", byKey.subject)
        .where("purpose", "=", slot("purpose")),
    ),
    insertOutbox: preparedBy((n: number) => db.insertInto("outbox").values(rowsOf(OUTBOX_COLUMNS, n))),
    // The data key and the proof log, on every record that appends events.
    dataKey: prepare(
      db
        .selectFrom("data_key")
        .select(["key_id", "data_key"])
        .where("tenant", "=", byKey.tenant)
        .where("subject", "=", byKey.subject),
    ),
    insertDataKey: prepare(
      db.insertInto("data_key").values(named(["tenant", "subject", "key_id", "data_key", "created_at"])),
    ),
    logHead: prepare(
      dialect.locksSubjectRow
        ? db.selectFrom("log_head").select(["size", "range"]).where("tenant", "=", byKey.tenant).forUpdate()
        : db.selectFrom("log_head").select(["size", "range"]).where("tenant", "=", byKey.tenant),
    ),
    insertLogHeadIfMissing: prepare(
      dialect.insertIfMissing(
        db.insertInto("log_head").values({ tenant: byKey.tenant, size: 0, range: "[]" }),
        {
          tenant: byKey.tenant,
        },
      ),
    ),
    insertLogHead: prepare(db.insertInto("log_head").values(named(["tenant", "size", "range"]))),
    updateLogHead: prepare(
      db
        .updateTable("log_head")
        .set(named(["size", "range"]))
        .where("tenant", "=", byKey.tenant),
    ),
    insertLogEntries: preparedBy((n: number) =>
      db.insertInto("log_entry").values(rowsOf(["tenant", "idx", "kind", "ref", "entry", "leaf_hash"], n)),
    ),
    insertLogNodes: preparedBy((n: number) =>
      db.insertInto("log_node").values(rowsOf(["tenant", "level", "idx", "hash"], n)),
    ),
    saveCommand: prepare(
      dialect.upsert(
        commandRow,
        ["tenant", "key"],
        named(["subject", "command_id", "recorded_at", "event_ids", "receipt"]),
      ),
    ),
  }
}

/** The prepared statements of one store. */
export type Statements = ReturnType<typeof statements>
