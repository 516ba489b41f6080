import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type KyselyConsentStore, type OpenStoreOptions, openStore } from "@consentkit/storage-kysely"
import { type Kysely, sql } from "kysely"

/** The PostgreSQL server to measure against, when set. */
export const PG_URL = process.env.CONSENTKIT_PG_URL?.trim() || undefined

/** An engine a scenario runs on. */
export type Engine = "sqlite" | "postgres"

/** SQLite always; PostgreSQL when `CONSENTKIT_PG_URL` is set. */
export const ENGINES: ReadonlyArray<Engine> = PG_URL ? ["sqlite", "postgres"] : ["sqlite"]

/** A migrated store on its own tables (a fresh SQLite file, or a random prefix on PostgreSQL). */
export interface BenchDatabase {
  readonly engine: Engine
  readonly url: string
  readonly prefix: string
  readonly store: KyselyConsentStore
  /** Kysely without the store's prefix plugin. */
  readonly db: Kysely<any>
  /** Opens another store over the same tables (a second process would). */
  readonly reopen: (
    options?: OpenStoreOptions,
  ) => Promise<{ store: KyselyConsentStore; close: () => Promise<void> }>
  readonly close: () => Promise<void>
}

/** Opens a store of its own on `engine`; `close` drops its tables (PostgreSQL) or its file (SQLite). */
export const openBenchDatabase = async (
  engine: Engine,
  options: OpenStoreOptions = {},
): Promise<BenchDatabase> => {
  const prefix = `bench_${Math.random().toString(36).slice(2, 8)}_`
  const folder = engine === "sqlite" ? mkdtempSync(join(tmpdir(), "consentkit-bench-")) : null
  const url = folder ? `sqlite:${join(folder, "bench.sqlite")}` : PG_URL!
  const opened = await openStore(url, { ...options, tablePrefix: prefix })
  const db = opened.database.db
  return {
    engine,
    url,
    prefix,
    store: opened.store,
    db,
    reopen: async (more = {}) => {
      const again = await openStore(url, { ...more, tablePrefix: prefix, migrate: false })
      return { store: again.store, close: again.close }
    },
    close: async () => {
      try {
        if (engine === "postgres") {
          const tables = await sql<{ name: string }>`
            select tablename as name from pg_tables
            where schemaname = current_schema() and left(tablename, ${prefix.length}) = ${prefix}`.execute(db)
          for (const { name } of tables.rows) await sql`drop table if exists ${sql.table(name)}`.execute(db)
        }
      } finally {
        await opened.close()
        if (folder) rmSync(folder, { recursive: true, force: true })
      }
    },
  }
}

/** Runs `work` with at most `concurrency` items at once. */
export const pool = async <A>(
  items: ReadonlyArray<A>,
  concurrency: number,
  work: (item: A) => Promise<unknown>,
) => {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

/** A seeded PRNG (mulberry32): every run draws the same sequence. */
export const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
