import { Adapter, createConsentKit, Intent } from "@consentkit/core"
import { benchPolicy } from "./policy.js"
import { openBenchDatabase, pool } from "./stores.js"
const sink = Adapter.fromHandlers({
  name: "sink",
  role: "tracker",
  handlers: Object.fromEntries(Intent.KINDS.map((k) => [k, async () => undefined])),
})
const database = await openBenchDatabase((process.env.ENGINE ?? "postgres") as "postgres")
const kit = createConsentKit({
  policy: benchPolicy,
  store: database.store,
  secret: "bench-0123456789abcdef0123456789abcdef",
  adapters: [sink],
  dispatcher: { autoStart: false },
})
const ids = Array.from({ length: 3000 }, (_, i) => i)
const THREE = ["analytics", "marketing", "marketing.email"]
const t = performance.now()
await pool(ids, 8, (i) =>
  kit.record({
    tenant: "p",
    subject: `s${i}`,
    source: "banner",
    idempotencyKey: `k${i}`,
    decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 1 }],
  }),
)
console.log("record/s", 3000 / ((performance.now() - t) / 1000))
const t2 = performance.now()
await pool(ids, 8, (i) =>
  kit.record({
    tenant: "p",
    subject: `s${i}`,
    source: "banner",
    decisions: THREE.map((purpose) => ({ purpose, action: "withdraw", noticeVersion: 1 })),
  }),
)
console.log("withdraw/s", 3000 / ((performance.now() - t2) / 1000))
await kit.close()
await database.close()
