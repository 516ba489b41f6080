/**
 * The store port on Kysely: ledger, state, outbox with leases, aliases, idempotency keys and
 * erasure requests in SQL, on SQLite, PostgreSQL (server or PGlite) and MySQL/MariaDB. The
 * transaction code is shared; what differs per engine is in its dialect object (`dialects/`).
 *
 * @since 0.1.0
 */
import type { ConsentStore } from "@consentkit/core"
import { Effect } from "effect"
import { type Kysely, sql } from "kysely"
import { makeListener } from "../internal/notify.js"
import { TablePrefixPlugin } from "../internal/prefix.js"
import { checkPrefix, DEFAULT_PREFIX, TABLES, type Tables } from "../schema.js"
import { makeContext } from "./context.js"
import { storeDialects } from "./dialects/index.js"
import { changeFeed } from "./feed.js"
import { ledgerReads } from "./ledger.js"
import { logReads } from "./log.js"
import { oneTripStatements } from "./oneTrip.js"
import { outbox } from "./outbox.js"
import { statements } from "./statements.js"
import { support } from "./support.js"
import { transactions } from "./transaction.js"
import type { KyselyConsentStore, KyselyStoreConfig } from "./types.js"

export type { KyselyConsentStore, KyselyStoreConfig, SubjectPage } from "./types.js"

/** Builds the store over a migrated database. */
export const kyselyStore = (config: KyselyStoreConfig): KyselyConsentStore => {
  const dialect = storeDialects[config.dialect]
  const prefix = checkPrefix(config.tablePrefix ?? DEFAULT_PREFIX)
  const db = (config.db as Kysely<Tables>).withPlugin(new TablePrefixPlugin(prefix, TABLES))
  const channel = `${prefix}work`
  const changesChannel = `${prefix}changes`
  const send = dialect.notify
  const listener =
    send && config.notifications
      ? makeListener(config.notifications, { work: channel, changes: changesChannel })
      : null
  const notify = send && listener ? (conn: Kysely<Tables>) => send(conn, channel) : null
  // SQLite allows one writer; in-process writers queue on its single connection, other processes on its lock.
  const capabilities: ConsentStore.StoreCapabilities = {
    name: dialect.name,
    supportsSkipLocked: dialect.supportsSkipLocked,
    supportsListenNotify: listener !== null,
    supportsReturning: dialect.supportsReturning,
    multiProcess: true,
    ...config.capabilities,
  }
  const ctx = makeContext(db, dialect, notify, listener ? { changes: changesChannel, work: channel } : null)
  const sqlOf = statements(db, dialect)

  return {
    capabilities,
    dialect: dialect.name,
    tablePrefix: prefix,
    db,
    ...transactions(
      ctx,
      sqlOf,
      dialect.name === "postgres" && config.oneTrip !== false
        ? { statements: oneTripStatements(db, prefix), enabled: true }
        : null,
    ),
    ...ledgerReads(ctx, sqlOf),
    ...outbox(ctx),
    ...support(ctx),
    log: logReads(ctx),
    changes: changeFeed(ctx, listener),
    ...(dialect.name === "sqlite"
      ? {
          afterErasure: ctx.query("truncate the write-ahead log", async (conn) => {
            await sql`pragma wal_checkpoint(TRUNCATE)`.execute(conn)
          }),
        }
      : {}),
    ...(listener && notify
      ? {
          waitForWork: (timeoutMs: number) => Effect.promise((signal) => listener.wait(timeoutMs, signal)),
          notifyWork: ctx.query("notify dispatchers", notify),
        }
      : {}),
    close: async () => {
      await listener?.close()
    },
  }
}
