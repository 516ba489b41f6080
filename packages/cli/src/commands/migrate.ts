/**
 * `consentkit migrate`: Creates or updates the tables.
 *
 * @since 0.1.0
 */
import { migrate as migrateTables, openDatabase } from "@consentkit/storage-kysely"
import { type Command, required } from "../args.js"
import { line } from "../io.js"

/** `consentkit migrate`. */
export const migrate: Command = async (values, _, io) => {
  const database = await openDatabase(required(values, "db", io.env.CONSENTKIT_DB))
  try {
    const { applied } = await migrateTables(database.db, {
      tablePrefix: values.prefix,
      dialect: database.dialect,
    })
    line(io.stdout, applied.length > 0 ? `applied ${applied.join(", ")}` : "already up to date")
    return 0
  } finally {
    await database.close()
  }
}
