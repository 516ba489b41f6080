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
import * as State from "../State.js"
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

  /** The purposes an opt-out (or opt-in) on a channel is about, or the `InvalidCommand` for an unknown one. */
  const channelPurposes = (cmd: Command.OptOutInput) => {
    if (cmd.purpose === undefined) return Effect.succeed(Policy.purposesForChannel(policy, cmd.channel))
    if (!policy.purposes.has(cmd.purpose)) {
      return Effect.fail(
        InvalidCommand.fromIssues([
          {
            code: "UNKNOWN_PURPOSE",
            path: ["purpose"],
            message: `"${cmd.purpose}" is not a purpose of this policy`,
          },
        ]),
      )
    }
    return Effect.succeed([cmd.purpose])
  }

  const versionOf = (id: string, now: number) => {
    const purpose = policy.purposes.get(id)!
    return Policy.currentVersion(purpose, now)?.version ?? purpose.versions[0]!.version
  }

  /**
   * Opt-outs and opt-ins on one channel: `choose` picks, under the subject's lock, the decisions
   * to write. A purpose that governs the channel is decided on that channel alone (a LINE
   * unfollow leaves email open); a named purpose that does not govern it is refused whole.
   */
  const onChannel = (
    input: unknown,
    schema: typeof Command.OptOutInput,
    choose: (
      state: State.SubjectState | null,
      id: string,
      channel: string | undefined,
      now: number,
    ) => Command.ValidRecord["decisions"],
  ) =>
    Effect.gen(function* () {
      const cmd = yield* decode(schema, input)
      const now = yield* Clock.currentTimeMillis
      const at = yield* occurred(cmd.occurredAt, now, "occurredAt")
      const purposes = yield* channelPurposes(cmd)
      if (purposes.length === 0) return null
      const state = yield* store.state(cmd.tenant, cmd.subject)
      return yield* commit(
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
          decisions: [],
        },
        now,
        undefined,
        (current) =>
          purposes.flatMap((id) =>
            choose(
              current,
              id,
              policy.purposes.get(id)!.channels.includes(cmd.channel) ? cmd.channel : undefined,
              now,
            ),
          ),
      )
    })

  const optOut: ConsentKitShape["optOut"] = (input) =>
    onChannel(input, Command.OptOutInput, (state, id, channel, now) => {
      const own = state?.purposes.get(State.keyOf(id, channel))
      if (own && own.status !== "granted") return []
      // Withdrawn when the subject could be reached there before; denied when it never could.
      const standing = own ?? (channel !== undefined ? state?.purposes.get(id) : undefined)
      const action = standing?.status === "granted" ? ("withdraw" as const) : ("deny" as const)
      const noticeVersion = versionOf(id, now)
      return [
        channel === undefined
          ? { purpose: id, action, noticeVersion }
          : { purpose: id, channel, action, noticeVersion },
      ]
    })

  const optIn: ConsentKitShape["optIn"] = (input) =>
    onChannel(input, Command.OptOutInput, (state, id, channel, now) => {
      // Only reopens a channel the subject closed alone; it never grants the purpose itself.
      if (channel === undefined) return []
      const own = state?.purposes.get(State.keyOf(id, channel))
      if (!own || own.status === "granted") return []
      return [{ purpose: id, channel, action: "grant" as const, noticeVersion: versionOf(id, now) }]
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
      const aliasState = cmd.merge === false ? null : yield* store.state(cmd.tenant, cmd.alias.value)
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
                ...(c.channel !== undefined ? { channel: c.channel } : {}),
                action: c.action,
                noticeVersion: c.noticeVersion,
              }))
            : [],
      )
    })

  return { record, gpc, optOut, optIn, link }
}
