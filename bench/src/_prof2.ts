import { report } from "./_sqltime.js"
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
for (let r = 0; r < 4; r++) {
  const t = performance.now()
  for (let i = 0; i < 1000; i++)
    await kit.record({
      tenant: `t${r}`,
      subject: `s${i}`,
      source: "banner",
      decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 1 }],
      idempotencyKey: `k${i}`,
    })
  const ms = performance.now() - t
  console.log(`run ${r}: ${(1000 / (ms / 1000)).toFixed(0)} rec/s, ${(ms).toFixed(0)} µs/record`)
  report(1000)
}
await kit.close()
await database.close()
