/**
 * Crypto-shredding: the personal fields of ledger rows (evidence, actor id) are stored encrypted
 * with AES-256-GCM under a per-subject data key; erasure deletes the key, so the rows stay (and
 * stay verifiable through the personal digest and the proof log) but can no longer be read.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import type { Kysely, Selectable } from "kysely"
import { num } from "./codec.js"
import type { EventTable, Tables } from "../schema.js"

/** A subject's data key. */
export interface DataKey {
  readonly id: string
  readonly key: Buffer
}

const MARK = "ck1:"

/** Encrypts a personal field of event `eventId`; the ciphertext names its key. */
export const encrypt = (key: DataKey, eventId: string, plaintext: string): string => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", key.key, iv)
  cipher.setAAD(Buffer.from(eventId))
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()])
  return `${MARK}${key.id}:${Buffer.concat([iv, body]).toString("base64")}`
}

/** Decrypts a field: the plaintext, the value itself when it was never encrypted, or null when its key is gone. */
export const decrypt = (
  keys: ReadonlyMap<string, DataKey>,
  eventId: string,
  value: string,
): string | null => {
  if (!value.startsWith(MARK)) return value
  const [keyId, data] = value.slice(MARK.length).split(":") as [string, string]
  const key = keys.get(keyId)
  if (!key) return null
  const bytes = Buffer.from(data, "base64")
  const decipher = createDecipheriv("aes-256-gcm", key.key, bytes.subarray(0, 12))
  decipher.setAAD(Buffer.from(eventId))
  decipher.setAuthTag(bytes.subarray(bytes.length - 16))
  return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString(
    "utf8",
  )
}

/** The data keys of a tenant (or of some of its subjects), by key id. */
export const loadKeys = async (
  conn: Kysely<Tables>,
  tenant: string,
  subject?: string,
): Promise<Map<string, DataKey>> => {
  let q = conn.selectFrom("data_key").select(["key_id", "data_key"]).where("tenant", "=", tenant)
  if (subject !== undefined) q = q.where("subject", "=", subject)
  const rows = await q.execute()
  return new Map(rows.map((r) => [r.key_id, { id: r.key_id, key: Buffer.from(r.data_key, "base64") }]))
}

/** Destroys the subject's data key; returns which key and when, or null when it had none. */
export const destroyKey = async (
  conn: Kysely<Tables>,
  tenant: string,
  subject: string,
  at: Date,
): Promise<{ readonly id: string; readonly at: Date } | null> => {
  const row = await conn
    .selectFrom("data_key")
    .select(["key_id", "created_at"])
    .where("tenant", "=", tenant)
    .where("subject", "=", subject)
    .executeTakeFirst()
  if (!row) return null
  await conn.deleteFrom("data_key").where("tenant", "=", tenant).where("subject", "=", subject).execute()
  return { id: row.key_id, at: new Date(Math.max(at.getTime(), num(row.created_at))) }
}

type EventRow = Omit<Selectable<EventTable>, "row_id">

/** An event row with its personal fields readable (or emptied, as erasure shapes them, when the key is gone). */
export const readable = <R extends EventRow>(keys: ReadonlyMap<string, DataKey>, row: R): R => {
  const evidence = decrypt(keys, row.id, row.evidence)
  const actorId = row.actor_id === null ? null : decrypt(keys, row.id, row.actor_id)
  return { ...row, evidence: evidence ?? "{}", actor_id: evidence === null ? null : actorId }
}
