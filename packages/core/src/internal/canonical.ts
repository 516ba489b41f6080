/**
 * Canonical JSON (RFC 8785 style): object keys sorted by UTF-16 code units, no whitespace,
 * `undefined` members dropped, Dates as ISO strings. Two equal values always encode to the
 * same bytes, which is what the hash chain needs.
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null) return "null"
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value)
    case "number":
      if (!Number.isFinite(value)) throw new TypeError("canonicalJson: non-finite number")
      return JSON.stringify(value)
    case "bigint":
      return JSON.stringify(value.toString())
    case "object": {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`
      const record = value as Record<string, unknown>
      const keys = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort()
      return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${typeof value}`)
  }
}
