/**
 * Every migration of the store, by zero-padded name. Names are never renamed or reordered and a
 * new migration only ever goes at the end: the migration table records them by name.
 *
 * @since 0.1.0
 */
import { initial } from "./0001-initial.js"
import { proofLog } from "./0002-proof-log.js"
import { guardTriggers } from "./0003-guards.js"
import { dataKeys } from "./0004-data-keys.js"
import { changeFeed } from "./0005-change-feed.js"
import { oneTripRecord } from "./0007-one-trip-record.js"
import type { StoreMigration } from "./types.js"

export type { MigrationContext, StoreMigration } from "./types.js"

/** The migrations, in order. */
export const migrations: Readonly<Record<string, StoreMigration>> = {
  "0001_initial": initial,
  "0002_proof_log": proofLog,
  "0003_guards": guardTriggers,
  "0004_data_keys": dataKeys,
  "0005_change_feed": changeFeed,
  "0007_one_trip_record": oneTripRecord,
}
