/**
 * `consentkit migrate`: Creates or updates the tables. With `--key`, it then signs one checkpoint
 * of every tenant's proof log (migration 0002 brings existing ledgers into it) and writes each to
 * `--checkpoints <dir>` (default `.`) as `<tenant>.checkpoint`.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { CheckpointSink } from "@consentkit/core"
import { kyselyStore, migrate as migrateTables, openDatabase } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { type Command, required } from "../args.js"
import { line } from "../io.js"
import { signCheckpoint } from "../proof.js"

/** `consentkit migrate`. */
export const migrate: Command = async (values, _, io) => {
  const database = await openDatabase(required(values, "db", io.env.CONSENTKIT_DB))
  try {
    const { applied } = await migrateTables(database.db, {
      tablePrefix: values.prefix,
      dialect: database.dialect,
    })
    line(io.stdout, applied.length > 0 ? `applied ${applied.join(", ")}` : "already up to date")
    if (values.key !== undefined) {
      const pem = readFileSync(values.key, "utf8")
      const dir = values.checkpoints ?? "."
      const store = kyselyStore({ db: database.db, dialect: database.dialect, tablePrefix: values.prefix })
      const sink = CheckpointSink.fileSink(dir)
      const tenants = await store.db
        .selectFrom("log_head")
        .select(["tenant", "size"])
        .orderBy("tenant")
        .execute()
      for (const { tenant, size } of tenants) {
        const note = await signCheckpoint(store, pem, tenant)
        await Effect.runPromise(sink.publish(tenant, note))
        line(
          io.stdout,
          `signed checkpoint of ${tenant} (${Number(size)} entries): ${dir}/${encodeURIComponent(tenant)}.checkpoint`,
        )
      }
    }
    return 0
  } finally {
    await database.close()
  }
}
