import type { Kysely } from "kysely"

/** A Kysely instance of any schema (an app's own `Kysely<DB>`, or one opened for the store). */
// biome-ignore lint/suspicious/noExplicitAny: Kysely<DB> is invariant in DB, so only `any` accepts every app's instance; the store applies its own table types inside.
export type AnyKysely = Kysely<any>
