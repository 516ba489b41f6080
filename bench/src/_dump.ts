import Database from "better-sqlite3"
import { Adapter, createConsentKit, Intent } from "@consentkit/core"
import { benchPolicy } from "./policy.js"
import { openBenchDatabase } from "./stores.js"
const sink = Adapter.fromHandlers({
  name: "sink",
  role: "tracker",
  handlers: Object.fromEntries(Intent.KINDS.map((k) => [k, async () => undefined])),
})
const database = await openBenchDatabase("sqlite")
const kit = createConsentKit({
  policy: benchPolicy,
  store: database.store,
  secret: "bench-0123456789abcdef0123456789abcdef",
  adapters: [sink],
  dispatcher: { autoStart: false },
})
await kit.record({
  tenant: "t",
  subject: "s1",
  source: "banner",
  decisions: [
    { purpose: "analytics", action: "grant", noticeVersion: 1 },
    { purpose: "marketing", action: "grant", noticeVersion: 1 },
    { purpose: "marketing.email", action: "grant", noticeVersion: 1 },
  ],
  idempotencyKey: "k1",
})
const raw = new Database(database.url.slice(7))
for (const t of [
  "event",
  "subject",
  "state",
  "outbox",
  "command",
  "data_key",
  "log_entry",
  "log_head",
  "log_node",
]) {
  const rows = raw.prepare(`select * from "${database.prefix}${t}"`).all()
  console.log(`== ${t} (${rows.length})`)
  console.log(JSON.stringify(rows[0]))
}
await kit.close()
await database.close()
