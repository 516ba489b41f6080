/**
 * Verification of a subject's chain and the subject's export (state, decisions, events,
 * receipts and the chain check), the right of access.
 *
 * @since 0.2.0
 */
import { Clock, Effect } from "effect"
import * as Decision from "../Decision.js"
import * as Ledger from "../Ledger.js"
import type { KitContext } from "./context.js"
import type { ConsentKitShape } from "./types.js"

export const makeExport = (ctx: KitContext) => {
  const { store, policy } = ctx

  const verify: ConsentKitShape["verify"] = (tenant, subject) =>
    Effect.gen(function* () {
      const events = yield* store.history(tenant, subject)
      const state = yield* store.state(tenant, subject)
      return yield* Ledger.verify(events, state ? state.head : undefined)
    })

  const exportSubject: ConsentKitShape["exportSubject"] = (tenant, subject) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const events = yield* store.history(tenant, subject)
      const state = yield* store.state(tenant, subject)
      const receipts = yield* store.receipts(tenant, subject)
      const aliases = yield* store.withSubject(tenant, subject, (tx) => tx.aliases)
      const chain = yield* Ledger.verify(events, state ? state.head : undefined)
      return {
        tenant,
        subject,
        exportedAt: new Date(now).toISOString(),
        aliases,
        state: [...(state?.purposes.values() ?? [])].map((p) => ({
          purpose: p.purpose,
          ...(p.channel !== undefined ? { channel: p.channel } : {}),
          status: p.status,
          noticeVersion: p.noticeVersion,
          occurredAt: p.occurredAt.toISOString(),
          expiresAt: p.expiresAt ? p.expiresAt.toISOString() : null,
          source: p.source,
        })),
        decisions: [...Decision.decideAll(policy, state ?? undefined, now).values()],
        events: events.map(Ledger.toJson),
        receipts: receipts.flatMap((r) => (r.receipt ? [r.receipt] : [])),
        chain,
      }
    })

  return { verify, exportSubject }
}
