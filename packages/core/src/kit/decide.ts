/**
 * Decisions: one purpose, every purpose, the tracker and messenger gates, and audiences, all
 * answered from the state the cache holds (read through on a miss).
 *
 * @since 0.2.0
 */
import { Clock, Effect } from "effect"
import * as Decision from "../Decision.js"
import { ConsentRequired } from "../Errors.js"
import * as Policy from "../Policy.js"
import type { KitContext } from "./context.js"
import type { ConsentKitShape, SendRequest } from "./types.js"

export const makeDecide = (ctx: KitContext) => {
  const { store, policy, cache, withDecider } = ctx

  const decide: ConsentKitShape["decide"] = (tenant, subject, purpose, opts) => {
    const at = opts?.at
    // As of an instant: the state the ledger implied then (never cached), decided at that instant.
    if (at !== undefined) {
      return Effect.map(store.stateAt(tenant, subject, at), (state) =>
        Decision.decide(policy, state ?? undefined, purpose, at.getTime(), opts),
      )
    }
    return withDecider(tenant, subject, (d, now) => d.decide(purpose, now, opts))
  }

  const decideCached: ConsentKitShape["decideCached"] = (tenant, subject, purpose, now = Date.now()) =>
    cache.decide(tenant, subject, purpose, now)

  const decisions: ConsentKitShape["decisions"] = (tenant, subject) =>
    withDecider(tenant, subject, (d, now) => policy.purposeIds.map((id) => d.decide(id, now)))

  /** All purposes must allow (on `channel`, for a send); the first refusal is the answer. */
  const decideEvery = (
    tenant: string,
    subject: string,
    purposes: ReadonlyArray<string>,
    what: string,
    channel?: string,
  ) =>
    withDecider(tenant, subject, (d, now) => {
      // Nothing governs it: an unknown purpose, channel or category is never allowed.
      if (purposes.length === 0) return Decision.decide(policy, undefined, what, now)
      const options = channel !== undefined ? { channel } : undefined
      let last: Decision.Decision | undefined
      for (const p of purposes) {
        last = d.decide(p, now, options)
        if (!last.allowed) return last
      }
      return last!
    })

  const gateTrack: ConsentKitShape["gateTrack"] = (req) =>
    decideEvery(
      req.tenant,
      req.subject,
      req.purpose !== undefined ? [req.purpose] : Policy.purposesForCategory(policy, req.category ?? ""),
      req.purpose ?? req.category ?? "",
    )

  const sendPurposes = (req: SendRequest): ReadonlyArray<string> =>
    req.purpose !== undefined ? [req.purpose] : Policy.purposesForChannel(policy, req.channel)

  const gateSend: ConsentKitShape["gateSend"] = (req) =>
    decideEvery(req.tenant, req.subject, sendPurposes(req), req.purpose ?? req.channel, req.channel)

  const assertSend: ConsentKitShape["assertSend"] = (req) =>
    Effect.flatMap(gateSend(req), (d) =>
      d.allowed
        ? Effect.succeed(d)
        : Effect.fail(
            new ConsentRequired({
              message: `not sent on ${req.channel}: ${Decision.explain(d)}`,
              decision: d,
            }),
          ),
    )

  const audiencePage: ConsentKitShape["audiencePage"] = ({
    tenant,
    purpose,
    channel,
    after = null,
    limit = 500,
  }) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const def = policy.purposes.get(purpose)
      if (!def) return { subjects: [], next: null }
      const page = yield* store.audiencePage({ tenant, purposes: [purpose], after, limit })
      const subjects: Array<string> = []
      for (const state of page.states) {
        const options = channel !== undefined ? { channel } : undefined
        if (Decision.decide(policy, state, purpose, now, options).allowed) subjects.push(state.subject)
      }
      return { subjects, next: page.next }
    })

  return { decide, decideCached, decisions, gateTrack, gateSend, assertSend, audiencePage }
}
