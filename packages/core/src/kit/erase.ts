/**
 * Erasure: the subject's events are pseudonymised in one transaction and an erase intent goes to
 * every adapter that holds the subject's data; its status is read back from the outbox.
 *
 * @since 0.2.0
 */
import { Clock, Effect } from "effect"
import * as Command from "../Command.js"
import type { ErasureRequest } from "../ConsentStore.js"
import * as Erasure from "../Erasure.js"
import { NotFound } from "../Errors.js"
import { hmacSha256Hex, randomId } from "../internal/crypto.js"
import * as Intent from "../Intent.js"
import * as Ledger from "../Ledger.js"
import * as ProofLog from "../ProofLog.js"
import type { KitContext } from "./context.js"
import type { ConsentKitShape } from "./types.js"

export const makeErase = (ctx: KitContext) => {
  const { store, options, decode, remember, committed, toDeliveries } = ctx

  const erase: ConsentKitShape["erase"] = (input) =>
    Effect.gen(function* () {
      const cmd = yield* decode(Command.EraseInput, input)
      const now = yield* Clock.currentTimeMillis
      const pseudonym = `erased:${(yield* Effect.promise(() => hmacSha256Hex(options.secret, `${cmd.tenant}:${cmd.subject}`))).slice(0, 40)}`
      const erasureId = randomId()
      const requestedBy =
        cmd.requestedBy === undefined
          ? null
          : yield* Effect.promise(() =>
              Erasure.requestedByDigest(options.secret, cmd.tenant, cmd.requestedBy!),
            )
      const result = yield* store.withSubject(cmd.tenant, cmd.subject, (tx) =>
        Effect.gen(function* () {
          const events = yield* tx.events
          const aliases = yield* tx.aliases
          const intent: Intent.Intent = {
            ...Intent.eraseDraft(erasureId, pseudonym, aliases),
            id: randomId(),
            tenant: cmd.tenant,
            subject: cmd.subject,
            seq: events.reduce((seq, e) => Math.max(seq, e.seq), 0),
            createdAt: new Date(now),
          }
          const request: ErasureRequest = {
            id: erasureId,
            tenant: cmd.tenant,
            pseudonym,
            requestedAt: new Date(now),
            requestedBy,
            intentId: intent.id,
          }
          const erased = events.map((e) => Ledger.erase(e, pseudonym))
          const outcome = yield* tx.erase(request, erased)
          // The log keeps every entry; the erasure is its own entry, naming the events it made pseudonymous.
          if (tx.log)
            yield* tx.log.appendLog((range) =>
              ProofLog.buildAppend(range, [
                {
                  kind: "erasure",
                  erasure: {
                    id: erasureId,
                    tenant: cmd.tenant,
                    pseudonym,
                    erasedAt: request.requestedAt,
                    eventIds: erased.map((e) => e.id),
                  },
                },
              ]),
            )
          const deliveries = toDeliveries([intent])
          if (deliveries.length > 0) yield* tx.enqueue(deliveries)
          return { request, erased, deliveries, seq: intent.seq, destroyedKey: outcome?.destroyedKey ?? null }
        }),
      )
      // Freed pages and the write-ahead log may still hold the erased rows' bytes: scrub them now.
      if (store.afterErasure)
        yield* store.afterErasure.pipe(
          Effect.catch((error) => Effect.logWarning("scrubbing after an erasure failed", error)),
        )
      remember(cmd.tenant, cmd.subject, null, now, "erase")
      committed({ tenant: cmd.tenant, subject: cmd.subject, seq: result.seq, kind: "erase" })
      return {
        erasureId,
        tenant: cmd.tenant,
        pseudonym,
        requestedAt: result.request.requestedAt,
        intentId: result.request.intentId,
        eventsKept: result.erased.length,
        chainHead: result.erased[result.erased.length - 1]?.hash ?? null,
        adapters: result.deliveries.map((d) => d.adapter),
        keyDestroyed: result.destroyedKey,
      }
    })

  const erasureStatus: ConsentKitShape["erasureStatus"] = (tenant, erasureId) =>
    Effect.gen(function* () {
      const request = yield* store.erasure(tenant, erasureId)
      if (!request)
        return yield* Effect.fail(
          new NotFound({ what: "erasure", message: `no erasure request ${erasureId}` }),
        )
      const rows = yield* store.deliveriesOf(request.intentId)
      return {
        request,
        complete: rows.every((r) => r.status === "delivered"),
        adapters: rows.map((r) => ({
          adapter: r.adapter,
          status: r.status,
          attempts: r.attempts,
          deliveredAt: r.deliveredAt,
          lastError: r.lastError,
        })),
      }
    })

  return { erase, erasureStatus }
}
