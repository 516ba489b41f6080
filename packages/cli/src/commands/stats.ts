/**
 * `consentkit stats`: Consent counts per purpose, notice version, action and day, and outbox health.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type Command, date, required } from "../args.js"
import { line } from "../io.js"
import { openStoreOf } from "../kit.js"

/** `consentkit stats`. */
export const stats: Command = async (values, _, io) => {
  const tenant = required(values, "tenant")
  const to = date(values.to, "to", new Date())
  const from = date(values.from, "from", new Date(to.getTime() - 30 * 86_400_000))
  const { store, close } = await openStoreOf(values, io)
  try {
    const rates = await Effect.runPromise(store.rates({ tenant, from, to }))
    const outbox = await Effect.runPromise(store.outboxStats(tenant))
    if (values.json) {
      line(io.stdout, JSON.stringify({ tenant, from, to, rates, outbox }, null, 2))
      return 0
    }
    line(
      io.stdout,
      `consent events for ${tenant}, ${from.toISOString().slice(0, 10)} to ${to.toISOString().slice(0, 10)}`,
    )
    line(io.stdout, ["day", "purpose", "version", "action", "count"].join("\t"))
    for (const r of rates) line(io.stdout, [r.day, r.purpose, r.noticeVersion, r.action, r.count].join("\t"))
    line(io.stdout)
    line(io.stdout, `outbox: ${outbox.pending} pending, ${outbox.delivered} delivered, ${outbox.dead} dead`)
    if (outbox.oldestPendingAt)
      line(io.stdout, `oldest pending since ${outbox.oldestPendingAt.toISOString()}`)
    for (const a of outbox.byAdapter)
      line(io.stdout, `  ${a.adapter}: ${a.pending} pending, ${a.delivered} delivered, ${a.dead} dead`)
    return 0
  } finally {
    await close()
  }
}
