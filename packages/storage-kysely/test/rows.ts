import type { Kysely, Selectable } from "kysely"
import { TABLES, type Tables } from "../src/schema.js"

/** Column values a row must have (compared with `=`). */
export type Where<T extends keyof Tables> = Partial<{ readonly [C in keyof Tables[T] & string]: unknown }>

/**
 * The stored rows of `table`, read straight from the database rather than through the store's
 * own answers. `db` is the store's `db` (its table prefix applied).
 */
export const rows = async <T extends keyof Tables>(
  db: Kysely<Tables>,
  table: T,
  where: Where<T> = {},
): Promise<Array<Selectable<Tables[T]>>> => {
  // Any table, any columns: the untyped view of the same instance.
  let q = (db as unknown as Kysely<Record<string, Record<string, unknown>>>).selectFrom(table).selectAll()
  for (const [column, value] of Object.entries(where)) q = q.where(column, "=", value)
  return (await q.execute()) as Array<Selectable<Tables[T]>>
}

/** How many rows a tenant has across every table of the store. */
export const rowCount = async (db: Kysely<Tables>, tenant: string): Promise<number> => {
  let total = 0
  for (const table of TABLES) total += (await rows(db, table, { tenant })).length
  return total
}
