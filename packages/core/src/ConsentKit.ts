/**
 * The runtime: records commands (validate, then one store transaction that appends events,
 * updates state and enqueues intents), answers decisions from a cache the writes keep current,
 * gates tracker and messenger calls, links identities, erases, exports and verifies.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer } from "effect"
import { type Adapter, accepts } from "./Adapter.js"
import * as Command from "./Command.js"
import {
  ConsentStore,
  type ConsentStoreShape,
  type Delivery,
  type ErasureRequest,
  type OutboxStats,
  type RateRow,
  type StoredCommand,
} from "./ConsentStore.js"
import * as Decision from "./Decision.js"
import { ConsentRequired, InvalidCommand, NotFound, type StoreError } from "./Errors.js"
import * as Identity from "./Identity.js"
import { DecisionCache } from "./internal/cache.js"
import { hmacSha256Hex, randomId, randomSalt } from "./internal/crypto.js"
import { addLifetime } from "./internal/time.js"
import * as Intent from "./Intent.js"
import * as Ledger from "./Ledger.js"
import * as Policy from "./Policy.js"
import * as Receipt from "./Receipt.js"
import * as State from "./State.js"

/** How the runtime is configured. */
export interface Options {
  readonly policy: Policy.Policy
  /** Trackers, messengers, buses and CDP adapters that receive intents. */
  readonly adapters?: ReadonlyArray<Adapter>
  /** Secret for pseudonyms of erased subjects (HMAC-SHA-256). Keep it stable and out of the database. */
  readonly secret: string
  /** Decision cache: entries live `ttlMs` (default 30 s) and at most `maxSubjects` (default 100,000) are kept. */
  readonly cache?: { readonly ttlMs?: number; readonly maxSubjects?: number }
}

/** What `record` (and the commands built on it) returns. */
export interface RecordResult {
  readonly commandId: string
  /** True when an earlier command with the same idempotency key was found: nothing new was written. */
  readonly duplicate: boolean
  readonly events: ReadonlyArray<Ledger.ConsentEvent>
  readonly eventIds: ReadonlyArray<string>
  readonly receipt: Receipt.Receipt | null
  /** Decisions after the command, for the purposes it touched. */
  readonly decisions: ReadonlyArray<Decision.Decision>
  readonly intents: ReadonlyArray<Intent.Intent>
}

/** What `erase` returns: the proof that erasure was requested, and where to follow it. */
export interface ErasureReceipt {
  readonly erasureId: string
  readonly tenant: string
  readonly pseudonym: string
  readonly requestedAt: Date
  readonly intentId: string
  /** Ledger events kept (pseudonymised) as proof consent was given. */
  readonly eventsKept: number
  readonly chainHead: string | null
  /** Adapters that were asked to erase. */
  readonly adapters: ReadonlyArray<string>
}

/** Erasure progress: each adapter's delivery of the erase intent. */
export interface ErasureStatus {
  readonly request: ErasureRequest
  readonly complete: boolean
  readonly adapters: ReadonlyArray<{
    readonly adapter: string
    readonly status: Delivery["status"]
    readonly attempts: number
    readonly deliveredAt: Date | null
    readonly lastError: string | null
  }>
}

/** Everything held about a subject, as JSON (the right of access). */
export interface SubjectExport {
  readonly tenant: string
  readonly subject: string
  readonly exportedAt: string
  readonly aliases: ReadonlyArray<Intent.Alias>
  readonly state: ReadonlyArray<{
    readonly purpose: string
    readonly status: State.Status
    readonly noticeVersion: number
    readonly occurredAt: string
    readonly expiresAt: string | null
    readonly source: string
  }>
  readonly decisions: ReadonlyArray<Decision.Decision>
  readonly events: ReadonlyArray<typeof Ledger.ConsentEventJson.Type>
  readonly receipts: ReadonlyArray<Receipt.Receipt>
  readonly chain: Ledger.Verification
}

/** A request the tracker gate checks: a purpose, or a tracker category (every purpose governing it must allow). */
export interface TrackRequest {
  readonly tenant: string
  readonly subject: string
  readonly purpose?: string
  readonly category?: string
}

/** A request the messenger gate checks: a channel, and the purpose of the message (default: every purpose of the channel). */
export interface SendRequest {
  readonly tenant: string
  readonly subject: string
  readonly channel: string
  readonly purpose?: string
}

/** The runtime's operations. */
export interface ConsentKitShape {
  readonly policy: Policy.Policy
  readonly adapters: ReadonlyArray<Adapter>
  readonly store: ConsentStoreShape
  /** Records a command; see `Command.RecordInput`. */
  readonly record: (input: unknown) => Effect.Effect<RecordResult, InvalidCommand | StoreError>
  /** Records a Global Privacy Control signal as an opt-out of the policy's GPC purposes, where it binds. */
  readonly gpc: (input: unknown) => Effect.Effect<RecordResult | null, InvalidCommand | StoreError>
  /** Records an inbound opt-out from a channel as withdrawals of the purposes it governs. */
  readonly optOut: (input: unknown) => Effect.Effect<RecordResult | null, InvalidCommand | StoreError>
  /** Links an alias to a subject and merges the alias's consents (a refusal is never upgraded). */
  readonly link: (input: unknown) => Effect.Effect<RecordResult | null, InvalidCommand | StoreError>
  /** The decision for one purpose now. */
  readonly decide: (
    tenant: string,
    subject: string,
    purpose: string,
    options?: Decision.DecideOptions,
  ) => Effect.Effect<Decision.Decision, StoreError>
  /** The decision from the cache alone, without I/O; undefined on a miss. */
  readonly decideCached: (
    tenant: string,
    subject: string,
    purpose: string,
    now?: number,
  ) => Decision.Decision | undefined
  /** Decisions for every purpose of the policy. */
  readonly decisions: (
    tenant: string,
    subject: string,
  ) => Effect.Effect<ReadonlyArray<Decision.Decision>, StoreError>
  /** The tracker gate: may this event be collected? */
  readonly gateTrack: (request: TrackRequest) => Effect.Effect<Decision.Decision, StoreError>
  /** The messenger gate: may this message be sent? */
  readonly gateSend: (request: SendRequest) => Effect.Effect<Decision.Decision, StoreError>
  /** Like `gateSend`, but fails with `ConsentRequired` when refused. */
  readonly assertSend: (
    request: SendRequest,
  ) => Effect.Effect<Decision.Decision, StoreError | ConsentRequired>
  /** Which subject an alias (e.g. a LINE user id or a phone number) belongs to. */
  readonly resolveAlias: (tenant: string, alias: Intent.Alias) => Effect.Effect<string | null, StoreError>
  /** The current state projection. */
  readonly state: (tenant: string, subject: string) => Effect.Effect<State.SubjectState | null, StoreError>
  /** The subject's ledger, oldest first. */
  readonly history: (
    tenant: string,
    subject: string,
    options?: { readonly purpose?: string },
  ) => Effect.Effect<ReadonlyArray<Ledger.ConsentEvent>, StoreError>
  /** The state as it stood at an instant. */
  readonly stateAt: (
    tenant: string,
    subject: string,
    at: Date,
  ) => Effect.Effect<State.SubjectState | null, StoreError>
  /** Verifies the subject's hash chain against the recorded head. */
  readonly verify: (tenant: string, subject: string) => Effect.Effect<Ledger.Verification, StoreError>
  /** Everything held about a subject. */
  readonly exportSubject: (tenant: string, subject: string) => Effect.Effect<SubjectExport, StoreError>
  /** Erases a subject everywhere: the store now, every adapter through `subject.erase`. */
  readonly erase: (input: unknown) => Effect.Effect<ErasureReceipt, InvalidCommand | StoreError>
  /** Progress of an erasure across adapters. */
  readonly erasureStatus: (
    tenant: string,
    erasureId: string,
  ) => Effect.Effect<ErasureStatus, StoreError | NotFound>
  /** One page of the subjects a purpose is allowed for now (decided in full, not only by the stored status). */
  readonly audiencePage: (options: {
    readonly tenant: string
    readonly purpose: string
    readonly after?: string | null
    readonly limit?: number
  }) => Effect.Effect<{ readonly subjects: ReadonlyArray<string>; readonly next: string | null }, StoreError>
  /** Event counts for dashboards. */
  readonly rates: (tenant: string, from: Date, to: Date) => Effect.Effect<ReadonlyArray<RateRow>, StoreError>
  readonly outboxStats: (tenant?: string) => Effect.Effect<OutboxStats, StoreError>
  /** Drops a subject from the cache (e.g. when another process changed it). */
  readonly invalidate: (tenant: string, subject: string) => void
  /** Registers a listener called after every commit (the dispatcher wakes on it). */
  readonly onCommit: (listener: () => void) => () => void
}

/** The runtime service. */
export class ConsentKit extends Context.Service<ConsentKit, ConsentKitShape>()(
  "@consentkit/core/ConsentKit",
) {}

/** Builds the runtime over the store in context. */
export const make = (options: Options): Effect.Effect<ConsentKitShape, never, ConsentStore> =>
  Effect.gen(function* () {
    const store = yield* ConsentStore
    const policy = options.policy
    const adapters = options.adapters ?? []
    const names = new Set<string>()
    for (const a of adapters) {
      if (names.has(a.name))
        throw new Error(`two adapters are named "${a.name}": adapter names must be unique`)
      names.add(a.name)
    }
    const ttl = options.cache?.ttlMs ?? 30_000
    const maxSubjects = options.cache?.maxSubjects ?? 100_000
    const cache = new DecisionCache(policy, ttl, maxSubjects)
    const listeners = new Set<() => void>()

    const remember = (
      tenant: string,
      subject: string,
      state: State.SubjectState | null,
      now: number,
      source: "read" | "write" | "erase" = "write",
    ) => cache.set(tenant, subject, state, now, source)

    const committed = () => {
      for (const listener of listeners) listener()
    }

    const loadState = (tenant: string, subject: string) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const hit = cache.state(tenant, subject, now)
        if (hit !== undefined) return { state: hit, now }
        const state = yield* store.state(tenant, subject)
        remember(tenant, subject, state, now, "read")
        return { state, now }
      })

    const toDeliveries = (intents: ReadonlyArray<Intent.Intent>) =>
      intents.flatMap((intent) =>
        adapters.filter((a) => accepts(a, intent)).map((a) => ({ intent, adapter: a.name })),
      )

    /** The one write path: every command becomes events on the subject's chain in one transaction. */
    const commit = (
      valid: Command.ValidRecord,
      now: number,
      extra?: (
        tx: Parameters<Parameters<ConsentStoreShape["withSubject"]>[2]>[0],
      ) => Effect.Effect<void, StoreError>,
      // Decides, under the subject's lock, which decisions to write (GPC and opt-outs skip what is already refused).
      select?: (state: State.SubjectState | null) => Command.ValidRecord["decisions"],
    ) =>
      store
        .withSubject(valid.tenant, valid.subject, (tx) =>
          Effect.gen(function* () {
            if (valid.idempotencyKey) {
              const earlier = yield* tx.findCommand(valid.idempotencyKey)
              if (earlier) return { earlier, created: null }
            }
            const before = yield* tx.state
            const decisions = select ? select(before) : valid.decisions
            const commandId = randomId()
            if (decisions.length === 0) {
              if (extra) yield* extra(tx)
              return {
                earlier: null,
                created: {
                  commandId,
                  events: [] as Array<Ledger.ConsentEvent>,
                  before,
                  after: before,
                  intents: [] as Array<Intent.Intent>,
                  receipt: null,
                },
              }
            }
            const recordedAt = new Date(now)
            const unsealed: Array<Ledger.UnsealedEvent> = decisions.map((d) => {
              const purpose = policy.purposes.get(d.purpose)!
              return {
                id: randomId(),
                tenant: valid.tenant,
                subject: valid.subject,
                purpose: d.purpose,
                action: d.action,
                noticeVersion: d.noticeVersion,
                occurredAt: valid.occurredAt,
                recordedAt,
                source: valid.source,
                actor: valid.actor,
                evidence: valid.evidence,
                jurisdiction: valid.jurisdiction,
                subjectAge: valid.age,
                expiresAt:
                  d.action === "grant" && purpose.lifetime
                    ? addLifetime(valid.occurredAt, purpose.lifetime)
                    : null,
                commandId,
                salt: randomSalt(),
              }
            })
            const head = { seq: before?.seq ?? 0, hash: before?.head ?? null }
            const events = yield* Effect.promise(() => Ledger.seal(head, unsealed))
            let after = before ?? State.empty(valid.tenant, valid.subject)
            for (const e of events) after = State.apply(after, e)
            const intents: Array<Intent.Intent> = Intent.diff(policy, before ?? undefined, after, now).map(
              (draft) => ({
                ...draft,
                id: randomId(),
                tenant: valid.tenant,
                subject: valid.subject,
                createdAt: recordedAt,
              }),
            )
            const receipt = Receipt.fromEvents(policy, commandId, events)
            yield* tx.append(events)
            yield* tx.saveState(after)
            const deliveries = toDeliveries(intents)
            if (deliveries.length > 0) yield* tx.enqueue(deliveries)
            const stored: StoredCommand = {
              tenant: valid.tenant,
              key: valid.idempotencyKey ?? commandId,
              subject: valid.subject,
              commandId,
              recordedAt,
              eventIds: events.map((e) => e.id),
              receipt,
            }
            yield* tx.saveCommand(stored)
            if (extra) yield* extra(tx)
            return { earlier: null, created: { commandId, events, before, after, intents, receipt } }
          }),
        )
        .pipe(
          Effect.map(({ earlier, created }): RecordResult => {
            if (earlier) {
              return {
                commandId: earlier.commandId,
                duplicate: true,
                events: [],
                eventIds: earlier.eventIds,
                receipt: earlier.receipt,
                decisions: [],
                intents: [],
              }
            }
            const c = created!
            remember(valid.tenant, valid.subject, c.after, now)
            if (c.events.length > 0) committed()
            return {
              commandId: c.commandId,
              duplicate: false,
              events: c.events,
              eventIds: c.events.map((e) => e.id),
              receipt: c.receipt,
              decisions: c.events.map((e) => Decision.decide(policy, c.after ?? undefined, e.purpose, now)),
              intents: c.intents,
            }
          }),
        )

    const record: ConsentKitShape["record"] = (input) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const checked = Command.validateRecord(policy, input, now)
        if (!checked.ok) return yield* Effect.fail(checked.error)
        return yield* commit(checked.value, now)
      })

    const decode = <S extends Parameters<typeof Command.decode>[0]>(schema: S, input: unknown) => {
      const decoded = Command.decode(schema, input)
      return decoded.ok ? Effect.succeed(decoded.value as S["Type"]) : Effect.fail(decoded.error)
    }

    const occurred = (value: Date | string | number | undefined, now: number, path: string) => {
      if (value === undefined) return Effect.succeed(now)
      const t = Command.instantMs(value)
      if (Number.isNaN(t)) {
        return Effect.fail(
          InvalidCommand.fromIssues([{ code: "MALFORMED", path: [path], message: "is not a valid date" }]),
        )
      }
      if (t > now + Command.MAX_CLOCK_SKEW_MS) {
        return Effect.fail(
          InvalidCommand.fromIssues([
            { code: "FUTURE_TIMESTAMP", path: [path], message: "is in the future" },
          ]),
        )
      }
      return Effect.succeed(t)
    }

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

    const decide: ConsentKitShape["decide"] = (tenant, subject, purpose, opts) =>
      Effect.map(loadState(tenant, subject), ({ state, now }) =>
        Decision.decide(policy, state ?? undefined, purpose, now, opts),
      )

    const decideCached: ConsentKitShape["decideCached"] = (tenant, subject, purpose, now = Date.now()) =>
      cache.decide(tenant, subject, purpose, now)

    const decisions: ConsentKitShape["decisions"] = (tenant, subject) =>
      Effect.map(loadState(tenant, subject), ({ state, now }) => [
        ...Decision.decideAll(policy, state ?? undefined, now).values(),
      ])

    /** All purposes must allow; the first refusal is the answer. */
    const decideEvery = (tenant: string, subject: string, purposes: ReadonlyArray<string>, what: string) =>
      Effect.map(loadState(tenant, subject), ({ state, now }) => {
        // Nothing governs it: an unknown purpose, channel or category is never allowed.
        if (purposes.length === 0) return Decision.decide(policy, undefined, what, now)
        let last: Decision.Decision | undefined
        for (const p of purposes) {
          last = Decision.decide(policy, state ?? undefined, p, now)
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
      decideEvery(req.tenant, req.subject, sendPurposes(req), req.purpose ?? req.channel)

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

    const verify: ConsentKitShape["verify"] = (tenant, subject) =>
      Effect.gen(function* () {
        const events = yield* store.history(tenant, subject)
        const state = yield* store.state(tenant, subject)
        return yield* Effect.promise(() => Ledger.verify(events, state ? state.head : undefined))
      })

    const exportSubject: ConsentKitShape["exportSubject"] = (tenant, subject) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const events = yield* store.history(tenant, subject)
        const state = yield* store.state(tenant, subject)
        const receipts = yield* store.receipts(tenant, subject)
        const aliases = yield* store.withSubject(tenant, subject, (tx) => tx.aliases)
        const chain = yield* Effect.promise(() => Ledger.verify(events, state ? state.head : undefined))
        return {
          tenant,
          subject,
          exportedAt: new Date(now).toISOString(),
          aliases,
          state: [...(state?.purposes.values() ?? [])].map((p) => ({
            purpose: p.purpose,
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

    const erase: ConsentKitShape["erase"] = (input) =>
      Effect.gen(function* () {
        const cmd = yield* decode(Command.EraseInput, input)
        const now = yield* Clock.currentTimeMillis
        const pseudonym = `erased:${(yield* Effect.promise(() => hmacSha256Hex(options.secret, `${cmd.tenant}:${cmd.subject}`))).slice(0, 40)}`
        const erasureId = randomId()
        const result = yield* store.withSubject(cmd.tenant, cmd.subject, (tx) =>
          Effect.gen(function* () {
            const events = yield* tx.events
            const aliases = yield* tx.aliases
            const intent: Intent.Intent = {
              ...Intent.eraseDraft(erasureId, pseudonym, aliases),
              id: randomId(),
              tenant: cmd.tenant,
              subject: cmd.subject,
              createdAt: new Date(now),
            }
            const request: ErasureRequest = {
              id: erasureId,
              tenant: cmd.tenant,
              pseudonym,
              requestedAt: new Date(now),
              requestedBy: cmd.requestedBy ?? null,
              intentId: intent.id,
            }
            const erased = events.map((e) => Ledger.erase(e, pseudonym))
            yield* tx.erase(request, erased)
            const deliveries = toDeliveries([intent])
            if (deliveries.length > 0) yield* tx.enqueue(deliveries)
            return { request, erased, deliveries }
          }),
        )
        remember(cmd.tenant, cmd.subject, null, now, "erase")
        committed()
        return {
          erasureId,
          tenant: cmd.tenant,
          pseudonym,
          requestedAt: result.request.requestedAt,
          intentId: result.request.intentId,
          eventsKept: result.erased.length,
          chainHead: result.erased[result.erased.length - 1]?.hash ?? null,
          adapters: result.deliveries.map((d) => d.adapter),
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

    const audiencePage: ConsentKitShape["audiencePage"] = ({ tenant, purpose, after = null, limit = 500 }) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const def = policy.purposes.get(purpose)
        if (!def) return { subjects: [], next: null }
        const page = yield* store.audiencePage({ tenant, purposes: [purpose], after, limit })
        const subjects: Array<string> = []
        for (const state of page.states) {
          if (Decision.decide(policy, state, purpose, now).allowed) subjects.push(state.subject)
        }
        return { subjects, next: page.next }
      })

    return {
      policy,
      adapters,
      store,
      record,
      gpc,
      optOut,
      link,
      decide,
      decideCached,
      decisions,
      gateTrack,
      gateSend,
      assertSend,
      resolveAlias: (tenant, alias) => store.resolveAlias(tenant, alias),
      state: (tenant, subject) => store.state(tenant, subject),
      history: (tenant, subject, opts) => store.history(tenant, subject, opts),
      stateAt: (tenant, subject, at) => store.stateAt(tenant, subject, at),
      verify,
      exportSubject,
      erase,
      erasureStatus,
      audiencePage,
      rates: (tenant, from, to) => store.rates({ tenant, from, to }),
      outboxStats: (tenant) => store.outboxStats(tenant),
      invalidate: (tenant, subject) => {
        cache.delete(tenant, subject)
      },
      onCommit: (listener) => {
        listeners.add(listener)
        return () => {
          listeners.delete(listener)
        }
      },
    } satisfies ConsentKitShape
  })

/** A layer providing `ConsentKit` over the `ConsentStore` in context. */
export const layer = (options: Options): Layer.Layer<ConsentKit, never, ConsentStore> =>
  Layer.effect(ConsentKit, make(options))
