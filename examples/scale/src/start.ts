/**
 * `npm start`: the whole scaled setup on one machine. Migrates a fresh set of tables in
 * PostgreSQL, creates a NATS stream, starts three dispatcher processes and the shop's API, drives
 * the API with a load generator, and prints throughput and outbox lag each second, then how long a
 * withdrawal takes to reach the API's replica, and a summary. Everything it created is dropped at
 * the end (KEEP=1 keeps it).
 *
 * Environment: CONSENTKIT_PG_URL (default postgres://postgres@127.0.0.1:5432/test),
 * CONSENTKIT_NATS_URL (default nats://127.0.0.1:4222), DURATION_S (20), WRITERS (8: clients
 * recording consent), READERS (8: clients asking the gates), SUBJECTS (5000), KEEP.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { Agent, request } from "node:http"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { natsBus } from "@consentkit/adapter-bus-nats"
import { openStore } from "@consentkit/storage-kysely"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Effect } from "effect"
import { sql } from "kysely"
import type { ShopPurpose } from "./policy.js"
import { createWarehouseTables } from "./warehouse.js"

const pgUrl = process.env.CONSENTKIT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const natsUrl = process.env.CONSENTKIT_NATS_URL ?? "nats://127.0.0.1:4222"
const durationS = Number(process.env.DURATION_S ?? 20)
const writers = Number(process.env.WRITERS ?? 8)
const readers = Number(process.env.READERS ?? 8)
const subjects = Number(process.env.SUBJECTS ?? 5000)
const DISPATCHERS = ["d1", "d2", "d3"]
const tenant = "siamtea"

const run = Math.random().toString(36).slice(2, 8)
const prefix = `scale_${run}_`
const stream = `CONSENTKIT_SCALE_${run.toUpperCase()}`
const subjectPrefix = `ckscale${run}`

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const percentile = (values: ReadonlyArray<number>, p: number) => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Starts one of the example's processes and resolves with it and the first line matching `ready`. */
const startProcess = (script: string, env: Record<string, string>, ready: RegExp) =>
  new Promise<{ child: ChildProcess; line: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=@consentkit/source", "--import", "tsx", fileURLToPath(new URL(script, import.meta.url))],
      {
        env: {
          ...process.env,
          CONSENTKIT_PG_URL: pgUrl,
          CONSENTKIT_NATS_URL: natsUrl,
          TABLE_PREFIX: prefix,
          NATS_STREAM: stream,
          NATS_SUBJECT_PREFIX: subjectPrefix,
          ADAPTERS: "warehouse",
          ...env,
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    )
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (ready.test(line)) resolve({ child, line })
    })
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before it was ready`)))
  })

console.log(`consentkit scale example: PostgreSQL outbox, ${DISPATCHERS.length} dispatchers, NATS JetStream`)
console.log(`  tables ${prefix}*  stream ${stream}`)

// Deploy steps: migrations and the stream, once, before any process starts.
const opened = await openStore(pgUrl, { tablePrefix: prefix, poolSize: 4 })
const db = opened.database.db
await createWarehouseTables(db, prefix)
const setupBus = natsBus({ servers: natsUrl, stream, subjectPrefix })
await setupBus.ensureStream()
await setupBus.close()

const children: Array<ChildProcess> = []
const cleanup = async () => {
  for (const child of children) child.kill("SIGTERM")
  await Promise.all(
    children.map((c) =>
      c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("exit", r)),
    ),
  )
  if (process.env.KEEP) {
    await opened.close()
    return
  }
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_name like ${`${prefix}%`}`.execute(db)
  for (const t of tables.rows) await sql`drop table if exists ${sql.table(t.table_name)} cascade`.execute(db)
  await opened.close()
  const nc = await connect({ servers: natsUrl })
  await (await jetstreamManager(nc)).streams.delete(stream)
  await nc.close()
}

try {
  const started = Date.now()
  const dispatchers = await Promise.all(
    DISPATCHERS.map((id) => startProcess("./dispatcher.ts", { DISPATCHER_ID: id }, /^ready /)),
  )
  children.push(...dispatchers.map((d) => d.child))
  const api = await startProcess("./api.ts", {}, /^listening \d+$/)
  children.push(api.child)
  const base = `http://127.0.0.1:${api.line.split(" ")[1]}`
  console.log(
    `  ${DISPATCHERS.length} dispatchers and the API up in ${fmt(Date.now() - started)} ms: ${base}`,
  )

  // node:http with keep-alive: lighter per request than fetch, so the generator measures the API.
  const agent = new Agent({ keepAlive: true, maxSockets: writers + readers + 2 })
  const port = Number(api.line.split(" ")[1])
  const call = (method: "GET" | "POST", path: string, payload?: unknown) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const data = payload === undefined ? undefined : JSON.stringify(payload)
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method,
          path,
          agent,
          headers: data
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) }
            : {},
        },
        (res) => {
          let body = ""
          res.setEncoding("utf8")
          res.on("data", (chunk: string) => {
            body += chunk
          })
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        },
      )
      req.on("error", reject)
      req.end(data)
    })
  const record = async (subject: string, purpose: ShopPurpose, action: "grant" | "withdraw") => {
    const res = await call("POST", "/consents", { subject, decisions: [{ purpose, action }] })
    if (res.status !== 200) throw new Error(`POST /consents: ${res.status} ${res.body}`)
  }
  const gate = async (subject: string) =>
    JSON.parse((await call("GET", `/gate/send?subject=${subject}&channel=email`)).body) as {
      allowed: boolean
    }

  // The load: writers record consent, readers ask the messenger gate, each as fast as it can.
  let writes = 0
  let reads = 0
  let failures = 0
  const purposes: Array<ShopPurpose> = ["analytics", "marketing.email", "marketing.sms"]
  const until = Date.now() + durationS * 1000
  const customer = () => `c-${Math.floor(Math.random() * subjects)}`
  const loop = (request: () => Promise<unknown>, done: () => void) => async () => {
    while (Date.now() < until) {
      try {
        await request()
        done()
      } catch (error) {
        failures++
        if (failures <= 3) console.error(String(error))
      }
    }
  }
  const writer = loop(
    () =>
      record(
        customer(),
        purposes[Math.floor(Math.random() * purposes.length)]!,
        Math.random() < 0.6 ? "grant" : "withdraw",
      ),
    () => void writes++,
  )
  const reader = loop(
    () => gate(customer()),
    () => void reads++,
  )

  const lags: Array<number> = []
  console.log("")
  console.log("   time   writes/s   gate reads/s   outbox pending   outbox lag   delivered")
  const report = (async () => {
    let lastWrites = 0
    let lastReads = 0
    for (let second = 1; Date.now() < until; second++) {
      await sleep(1000)
      const stats = await Effect.runPromise(opened.store.outboxStats(tenant))
      const lag = stats.oldestPendingAt ? Date.now() - stats.oldestPendingAt.getTime() : 0
      lags.push(lag)
      console.log(
        `  ${String(second).padStart(4)}s ${fmt(writes - lastWrites).padStart(10)} ${fmt(reads - lastReads).padStart(14)} ` +
          `${fmt(stats.pending).padStart(16)} ${`${fmt(lag)} ms`.padStart(12)} ${fmt(stats.delivered).padStart(11)}`,
      )
      lastWrites = writes
      lastReads = reads
    }
  })()
  await Promise.all([
    ...Array.from({ length: writers }, writer),
    ...Array.from({ length: readers }, reader),
    report,
  ])

  // Drain: the dispatchers finish what the load left behind.
  const drainStart = Date.now()
  let stats = await Effect.runPromise(opened.store.outboxStats(tenant))
  while (stats.pending > 0) {
    await sleep(100)
    stats = await Effect.runPromise(opened.store.outboxStats(tenant))
  }
  const drainMs = Date.now() - drainStart

  // Propagation: from a withdrawal at the API to its own gate refusing, through PostgreSQL, a
  // dispatcher, NATS and the replica.
  const propagation: Array<number> = []
  for (let probe = 0; probe < 10; probe++) {
    const subject = `probe-${probe}`
    await record(subject, "marketing.email", "grant")
    while (!(await gate(subject)).allowed) await sleep(2)
    const t = Date.now()
    await record(subject, "marketing.email", "withdraw")
    while ((await gate(subject)).allowed) await sleep(2)
    propagation.push(Date.now() - t)
  }

  agent.destroy()
  const byAdapter = Object.fromEntries(stats.byAdapter.map((a) => [a.adapter, a.delivered]))
  const byDispatcher = await sql<{ dispatcher: string; n: string }>`
    select dispatcher, count(*) as n from ${sql.table(`${prefix}applied`)} group by dispatcher order by dispatcher`.execute(
    db,
  )
  const attempts = await sql<{
    n: string
  }>`select count(*) as n from ${sql.table(`${prefix}attempts`)}`.execute(db)
  const applied = await sql<{
    n: string
  }>`select count(*) as n from ${sql.table(`${prefix}applied`)}`.execute(db)

  console.log("")
  console.log(
    `summary (${writers} writers and ${readers} readers for ${durationS} s, ${fmt(subjects)} customers)`,
  )
  console.log(`  consent writes        ${fmt(writes).padStart(9)}  (${fmt(writes / durationS)}/s)`)
  console.log(
    `  gate reads            ${fmt(reads).padStart(9)}  (${fmt(reads / durationS)}/s, from the API's replica: no database query)`,
  )
  console.log(`  failed requests       ${fmt(failures).padStart(9)}`)
  console.log(
    `  outbox lag            p50 ${fmt(percentile(lags, 50))} ms, max ${fmt(Math.max(0, ...lags))} ms (sampled each second)`,
  )
  console.log(`  drained after load    ${fmt(drainMs)} ms`)
  console.log(
    `  delivered             ${fmt(stats.delivered)} (nats ${fmt(byAdapter.nats ?? 0)}, warehouse ${fmt(byAdapter.warehouse ?? 0)}), dead ${fmt(stats.dead)}`,
  )
  console.log(
    `  warehouse by process  ${byDispatcher.rows.map((r) => `${r.dispatcher} ${fmt(Number(r.n))}`).join(", ")}`,
  )
  console.log(
    `  redelivered           ${fmt(Number(attempts.rows[0]!.n) - Number(applied.rows[0]!.n))} (applied once anyway, by intent id)`,
  )
  console.log(
    `  withdrawal -> API gate refuses: p50 ${fmt(percentile(propagation, 50))} ms, max ${fmt(Math.max(...propagation))} ms (${propagation.length} probes)`,
  )
} finally {
  await cleanup()
}
