/**
 * The commands that record: consent decisions, Global Privacy Control, channel opt-outs and
 * identity links. Each validates, then writes through the one commit path.
 *
 * @since 0.2.0
 */
import { Clock, Effect } from "effect"
import * as Command from "../Command.js"
import { InvalidCommand } from "../Errors.js"
import * as Identity from "../Identity.js"
import * as Policy from "../Policy.js"
import { makeCommit } from "./commit.js"
import type { KitContext } from "./context.js"
import type { ConsentKitShape } from "./types.js"

export const makeRecord = (ctx: KitContext) => {
  const { store, policy, decode, occurred } = ctx
  const commit = makeCommit(ctx)

  const record: ConsentKitShape["record"] = (input) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const checked = Command.validateRecord(policy, input, now)
      if (!checked.ok) return yield* Effect.fail(checked.error)
      return yield* commit(checked.value, now)
    })

  /** Writes refusals for `purposes` that are not already refused, under the subject's lock. */
  const refuse = (
    base: Omit<Command.ValidRecord, "decisions">,
    purposes: ReadonlyArray<string>,
    now: number,
  ) =>
    commit({ ...base, decisions: [] }, now, undefined, (state) =>
      purposes.flatMap((id) => {
        const current = state?.purposes.get(id)
        if (current && current.status !== "granted") return []
        const purpose = policy.purposes.get(id)!
        const version = Policy.currentVersion(purpose, now)?.version ?? purpose.versions[0]!.version
        return [
          {
            purpose: id,
            action: current?.status === "granted" ? ("withdraw" as const) : ("deny" as const),
            noticeVersion: version,
          },
        ]
      }),
    )

  const gpc: ConsentKitShape["gpc"] = (input) =>
    Effect.gen(function* () {
      const cmd = yield* decode(Command.GpcInput, input)
      const now = yield* Clock.currentTimeMillis
      const at = yield* occurred(cmd.occurredAt, now, "occurredAt")
      if (!Policy.gpcBinds(policy, cmd.jurisdiction)) return null
      const purposes = policy.purposeIds.filter((id) => policy.purposes.get(id)!.gpc)
      if (purposes.length === 0) return null
      return yield* refuse(
        {
          tenant: cmd.tenant,
          subject: cmd.subject,
          source: "gpc",
          occurredAt: new Date(at),
          actor: { kind: "subject" },
          evidence: { ...cmd.evidence, metadata: { ...cmd.evidence?.metadata, signal: "Sec-GPC: 1" } },
          jurisdiction: cmd.jurisdiction,
          age: null,
          idempotencyKey: cmd.idempotencyKey ?? null,
        },
        purposes,
        now,
      )
    })

  const optOut: ConsentKitShape["optOut"] = (input) =>
    Effect.gen(function* () {
      const cmd = yield* decode(Command.OptOutInput, input)
      const now = yield* Clock.currentTimeMillis
      const at = yield* occurred(cmd.occurredAt, now, "occurredAt")
      let purposes: ReadonlyArray<string>
      if (cmd.purpose !== undefined) {
        const purpose = policy.purposes.get(cmd.purpose)
        if (!purpose) {
          return yield* Effect.fail(
            InvalidCommand.fromIssues([
              {
                code: "UNKNOWN_PURPOSE",
                path: ["purpose"],
                message: `"${cmd.purpose}" is not a purpose of this policy`,
              },
            ]),
          )
        }
        purposes = [cmd.purpose]
      } else {
        purposes = Policy.purposesForChannel(policy, cmd.channel)
      }
      if (purposes.length === 0) return null
      const state = yield* store.state(cmd.tenant, cmd.subject)
      return yield* refuse(
        {
          tenant: cmd.tenant,
          subject: cmd.subject,
          source: cmd.source,
          occurredAt: new Date(at),
          actor: { kind: "subject" },
          evidence: { ...cmd.evidence, metadata: { ...cmd.evidence?.metadata, channel: cmd.channel } },
          jurisdiction: state?.jurisdiction ?? policy.defaultJurisdiction,
          age: null,
          idempotencyKey: cmd.idempotencyKey ?? null,
        },
        purposes,
        now,
      )
    })

  const link: ConsentKitShape["link"] = (input) =>
    Effect.gen(function* () {
      const cmd = yield* decode(Command.LinkInput, input)
      const now = yield* Clock.currentTimeMillis
      if (cmd.alias.value === cmd.subject) {
        return yield* Effect.fail(
          InvalidCommand.fromIssues([
            {
              code: "MALFORMED",
              path: ["alias", "value"],
              message: "an alias cannot be the subject itself",
            },
          ]),
        )
      }
      const aliasState = yield* store.state(cmd.tenant, cmd.alias.value)
      const alias = { kind: cmd.alias.kind, value: cmd.alias.value }
      const base = {
        tenant: cmd.tenant,
        subject: cmd.subject,
        source: "link",
        occurredAt: new Date(now),
        actor: { kind: "subject" as const },
        evidence: { metadata: { aliasKind: cmd.alias.kind } },
        jurisdiction: aliasState?.jurisdiction ?? policy.defaultJurisdiction,
        age: aliasState?.age ?? null,
        idempotencyKey: null,
      }
      return yield* commit(
        { ...base, decisions: [] },
        now,
        (tx) => tx.addAlias(alias),
        (target) =>
          aliasState
            ? Identity.merge(target ?? undefined, aliasState).map((c) => ({
                purpose: c.purpose,
                action: c.action,
                noticeVersion: c.noticeVersion,
              }))
            : [],
      )
    })

  return { record, gpc, optOut, link }
}
