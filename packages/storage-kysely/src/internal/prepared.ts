import { type Compilable, CompiledQuery, type QueryExecutorProvider, type QueryResult } from "kysely"

// Placeholders compiled in place of values; a NUL byte never appears in a real parameter we build.
const MARK = "\u0000consentkit:"

/** A value's placeholder: `name` for a named value, `i:column` for column of row i of an insert. */
// Typed `never` so it fits any column of a typed insert: the value is a marker, replaced when the query runs.
export const slot = (name: string): never => `${MARK}${name}` as never

type Slot =
  | { readonly name: string }
  | { readonly row: number; readonly column: string }
  | { readonly value: unknown }

/** A query compiled once, run many times with different values. */
export interface Prepared {
  readonly sql: string
  readonly slots: ReadonlyArray<Slot>
}

/**
 * Compiles a query built with `slot(...)` placeholders. The write path runs the same few
 * queries for every command: building and compiling each anew costs more than SQLite's work.
 */
export const prepare = (query: Compilable): Prepared => {
  const compiled = query.compile()
  return {
    sql: compiled.sql,
    slots: compiled.parameters.map((p): Slot => {
      if (typeof p !== "string" || !p.startsWith(MARK)) return { value: p }
      const name = p.slice(MARK.length)
      const colon = name.indexOf(":")
      return colon > 0 ? { row: Number(name.slice(0, colon)), column: name.slice(colon + 1) } : { name }
    }),
  }
}

/** Runs a prepared query with named values, or rows (for multi-row inserts). */
export const run = <R = Record<string, unknown>>(
  conn: QueryExecutorProvider,
  prepared: Prepared,
  values: Readonly<Record<string, unknown>>,
  rows: ReadonlyArray<Readonly<Record<string, unknown>>> = [],
): Promise<QueryResult<R>> =>
  conn.getExecutor().executeQuery<R>(
    CompiledQuery.raw(
      prepared.sql,
      prepared.slots.map((s) =>
        "value" in s ? s.value : "name" in s ? values[s.name] : rows[s.row]![s.column],
      ),
    ),
  )

/** Caches prepared queries by a key (e.g. a row count), preparing on first use. */
export const preparedBy = <K>(build: (key: K) => Compilable) => {
  const cache = new Map<K, Prepared>()
  return (key: K): Prepared => {
    let prepared = cache.get(key)
    if (!prepared) {
      prepared = prepare(build(key))
      cache.set(key, prepared)
    }
    return prepared
  }
}
