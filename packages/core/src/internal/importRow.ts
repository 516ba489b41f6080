/**
 * Reading one import row: column names to camelCase, blank cells dropped, numbers and JSON cells
 * parsed (used by `Import.importConsents`).
 *
 * @internal
 */
const camelCache = new Map<string, string>()
// Column names repeat on every row: convert each once.
const camel = (key: string): string => {
  let name = camelCache.get(key)
  if (name === undefined) {
    name = key.trim().replace(/[_\s-]+([a-z])/gi, (_, c: string) => c.toUpperCase())
    if (camelCache.size < 1_000) camelCache.set(key, name)
  }
  return name
}
const blank = (value: unknown) =>
  value === undefined || value === null || (typeof value === "string" && value.trim() === "")
const numeric = (value: unknown) =>
  typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value

/**
 * Reads a flat record (a CSV row or a JSON object) as an import row: `snake_case` or camelCase
 * columns, numbers from text, empty cells as absent, `actor_kind`/`actor_id` and `locale`,
 * `user_agent`, `ip_hash`, `notice_hash` as evidence. Values stay as given when they are not
 * what they should be, so validation reports them.
 */
export const rowFromRecord = (record: Record<string, unknown>): Record<string, unknown> => {
  // Keys come from a file: no prototype, so a `__proto__` column is a column like any other.
  const flat: Record<string, unknown> = Object.create(null)
  for (const [key, value] of Object.entries(record))
    if (!blank(value)) flat[camel(key)] = typeof value === "string" ? value.trim() : value
  const { actorKind, actorId, locale, userAgent, ipHash, noticeHash, metadata, ...rest } = flat
  const row: Record<string, unknown> = Object.assign(Object.create(null), rest)
  if (row.noticeVersion !== undefined) row.noticeVersion = numeric(row.noticeVersion)
  if (row.age !== undefined) row.age = numeric(row.age)
  if (typeof row.occurredAt === "string" && /^\d+$/.test(row.occurredAt))
    row.occurredAt = Number(row.occurredAt)
  if (actorKind !== undefined)
    row.actor = { kind: actorKind, ...(actorId !== undefined ? { id: String(actorId) } : {}) }
  const evidence: Record<string, unknown> = Object.assign(
    Object.create(null),
    row.evidence as object | undefined,
  )
  if (locale !== undefined) evidence.locale = locale
  if (userAgent !== undefined) evidence.userAgent = userAgent
  if (ipHash !== undefined) evidence.ipHash = ipHash
  if (noticeHash !== undefined) evidence.noticeHash = noticeHash
  if (metadata !== undefined) evidence.metadata = typeof metadata === "string" ? safeJson(metadata) : metadata
  if (Object.keys(evidence).length > 0) row.evidence = evidence
  return row
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
