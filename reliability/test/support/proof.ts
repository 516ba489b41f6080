import { readFileSync, writeFileSync } from "node:fs"
import { PassThrough, Writable } from "node:stream"
import { Ledger, ProofLog } from "@consentkit/core"
import { auditReport, main, signCheckpoint } from "@consentkit/cli"
import { Effect } from "effect"
import { sql } from "kysely"
import type { TestDatabase } from "./db.js"

/** Runs the `consentkit` command line in this process: its exit code and output. */
export const consentkit = async (args: ReadonlyArray<string>) => {
  let stdout = ""
  let stderr = ""
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk))
        done()
      },
    })
  const code = await main(args, {
    stdout: sink((t) => {
      stdout += t
    }),
    stderr: sink((t) => {
      stderr += t
    }),
    stdin: new PassThrough(),
    env: {},
  })
  return { code, stdout, stderr }
}

/** Writes text to a file and returns its path. */
export const fileWith = (path: string, text: string): string => {
  writeFileSync(path, text)
  return path
}

type Row = Record<string, unknown>

/**
 * Drops the store's guard triggers, as a database writer bent on rewriting history would first
 * (the triggers stop mistakes; the signed checkpoint is what catches a writer).
 */
export const dropGuards = async (database: TestDatabase): Promise<number> => {
  const { db, prefix, dialect } = database
  const triggers =
    dialect === "sqlite"
      ? (
          await sql<{
            name: string
            tbl: string
          }>`select name, tbl_name as tbl from sqlite_master where type = 'trigger' and substr(name, 1, ${prefix.length}) = ${prefix}`.execute(
            db,
          )
        ).rows
      : (
          await sql<{
            name: string
            tbl: string
          }>`select tgname as name, tgrelid::regclass::text as tbl from pg_trigger where not tgisinternal and left(tgname, ${prefix.length}) = ${prefix}`.execute(
            db,
          )
        ).rows
  for (const t of triggers)
    await sql
      .raw(dialect === "sqlite" ? `drop trigger ${t.name}` : `drop trigger ${t.name} on ${t.tbl}`)
      .execute(db)
  return triggers.length
}

const ORDER: Record<string, string> = { event: "row_id", outbox: "id", command: "id", log_entry: "idx" }

/** Every row of a tenant in one table, in insertion order where the table has one. */
export const tenantRows = async (database: TestDatabase, name: string, tenant: string): Promise<Array<Row>> =>
  (
    await sql<Row>`select * from ${database.table(name)} where tenant = ${tenant} order by ${sql.ref(ORDER[name] ?? "tenant")}`.execute(
      database.db,
    )
  ).rows

/**
 * What a database writer with consentkit's code but without the signing key can do: rebuild the
 * tenant's whole log (entries, nodes, head) from the ledger rows as they stand now.
 */
export const rebuildLog = async (database: TestDatabase, tenant: string): Promise<void> => {
  const { db, table } = database
  const events = await Effect.runPromise(database.store.log!.tenantEvents(tenant))
  for (const name of ["log_entry", "log_node", "log_head"])
    await sql`delete from ${table(name)} where tenant = ${tenant}`.execute(db)
  const append = ProofLog.buildAppend(
    { size: 0, hashes: [] },
    events.map((event) => ({ kind: "event" as const, event: { ...event, erased: false } })),
  )
  for (const e of append.entries)
    await sql`insert into ${table("log_entry")} (tenant, idx, kind, ref, entry, leaf_hash) values (${tenant}, ${e.index}, ${e.kind}, ${e.ref}, ${e.entry}, ${e.leafHash})`.execute(
      db,
    )
  for (const n of append.nodes)
    await sql`insert into ${table("log_node")} (tenant, level, idx, hash) values (${tenant}, ${n.level}, ${n.index}, ${Buffer.from(n.hash).toString("hex")})`.execute(
      db,
    )
  const range = JSON.stringify(append.range.hashes.map((h) => Buffer.from(h).toString("hex")))
  await sql`insert into ${table("log_head")} (tenant, size, ${sql.ref("range")}) values (${tenant}, ${append.range.size}, ${range})`.execute(
    db,
  )
}

/** Re-seals a subject's chain after its rows were edited, as an attacker with the code would, and moves its head. */
export const resealChain = async (database: TestDatabase, tenant: string, subject: string): Promise<void> => {
  const { db, table } = database
  const events = await Effect.runPromise(database.store.history(tenant, subject))
  const sealed = await Ledger.sealPromise(
    { seq: 0, hash: null },
    events.map(({ seq: _s, prevHash: _p, hash: _h, personalDigest: _d, erased: _e, ...rest }) => rest),
  )
  for (const e of sealed)
    await sql`update ${table("event")} set prev_hash = ${e.prevHash}, hash = ${e.hash} where id = ${e.id}`.execute(
      db,
    )
  const last = sealed[sealed.length - 1]
  await sql`update ${table("subject")} set seq = ${last?.seq ?? null}, head = ${last?.hash ?? null} where tenant = ${tenant} and subject = ${subject}`.execute(
    db,
  )
}

/**
 * The command line over `database`: the real `consentkit` for SQLite and PostgreSQL; for PGlite,
 * which lives inside this process, the commands' own code over the open store.
 */
export const proofCli =
  (database: TestDatabase) =>
  async (args: ReadonlyArray<string>): Promise<{ code: number; stdout: string; stderr: string }> => {
    if (database.dialect !== "pglite") return consentkit(args)
    const flag = (name: string) => {
      const at = args.indexOf(`--${name}`)
      return at >= 0 ? args[at + 1] : undefined
    }
    const tenant = flag("tenant")!
    const file = (name: string) => readFileSync(flag(name)!, "utf8")
    if (args[0] === "checkpoint")
      return { code: 0, stdout: await signCheckpoint(database.store, file("key"), tenant), stderr: "" }
    if (args[0] === "verify" && flag("checkpoint") !== undefined) {
      const report = await auditReport(database.store, tenant, file("checkpoint"), file("public-key"))
      return { code: report.code, stdout: `${report.line}\n`, stderr: "" }
    }
    if (args[0] === "verify") {
      const events = await Effect.runPromise(database.store.log!.tenantEvents(tenant))
      const subjects = [...new Set(events.map((e) => e.subject))]
      for (const subject of subjects) {
        const chain = await Effect.runPromise(database.store.history(tenant, subject))
        const state = await Effect.runPromise(database.store.state(tenant, subject))
        if (!(await Ledger.verifyPromise(chain, state ? state.head : undefined)).ok)
          return { code: 2, stdout: `${subject}: broken\n`, stderr: "" }
      }
      return { code: 0, stdout: `verified ${subjects.length} chains: all intact\n`, stderr: "" }
    }
    throw new Error(`proofCli: ${args[0]} is not run in process`)
  }
