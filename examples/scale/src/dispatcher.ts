/**
 * One dispatcher process: claims rows from the shared PostgreSQL outbox and delivers them to the
 * warehouse tables and, when CONSENTKIT_NATS_URL is set, to NATS. Run as many as you like, on as
 * many machines: the outbox's leases and SKIP LOCKED claims share the work, and a killed process
 * loses nothing (its leases expire and another process claims the rows).
 *
 * Environment: CONSENTKIT_PG_URL (required), TABLE_PREFIX, DISPATCHER_ID, ADAPTERS (warehouse
 * adapters, e.g. `warehouse,crm:messaging.suppress`), LEASE_MS, TIMEOUT_MS, CONSENTKIT_NATS_URL,
 * NATS_STREAM, NATS_SUBJECT_PREFIX. Migrations and the warehouse tables must exist (`npm start`
 * creates them).
 */
import { createConsentKit } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { adapterEnv, shopAdapters } from "./adapters.js"
import { policy } from "./policy.js"

const url = process.env.CONSENTKIT_PG_URL
if (!url) throw new Error("CONSENTKIT_PG_URL is not set")
const prefix = process.env.TABLE_PREFIX ?? "consentkit_"
const id = process.env.DISPATCHER_ID ?? `dispatcher-${process.pid}`

const opened = await openStore(url, { tablePrefix: prefix, migrate: false, poolSize: 12 })
const { adapters, buses, bus } = shopAdapters({
  db: opened.database.db,
  prefix,
  process: id,
  ...adapterEnv(),
})

let delivered = 0
const kit = createConsentKit({
  policy,
  store: opened.store,
  // No default: the secret comes from the environment (createConsentKit refuses a weak one).
  secret: process.env.CONSENTKIT_SECRET ?? "",
  adapters,
  buses,
  dispatcher: {
    id,
    leaseMs: Number(process.env.LEASE_MS ?? 30_000),
    timeoutMs: Number(process.env.TIMEOUT_MS ?? 10_000),
    onDelivery: (event) => {
      if (event.outcome === "delivered") delivered++
    },
  },
})
// The runtime is up once it answers; the dispatcher loop runs in its background from then on.
await kit.outbox.stats()
process.stdout.write(`ready ${id}\n`)

const stop = async () => {
  await kit.close()
  await bus?.close()
  await opened.close()
  process.stdout.write(`stopped ${id} delivered=${delivered}\n`)
  process.exit(0)
}
process.once("SIGTERM", () => void stop())
process.once("SIGINT", () => void stop())
