/**
 * LINE Messaging API behind the consent gate (@line/bot-sdk). Push and multicast are decided per
 * recipient at send time; broadcast reaches every friend, so it is refused for purposes that need
 * consent; narrowcast goes to an audience built from current consent, minus an exclusion audience
 * of everyone withdrawn, which LINE applies when it actually delivers.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import type { AdapterDescriptor, Decision, Intent } from "@consentkit/core"
import { ConsentRequired } from "@consentkit/core"
import { manageAudience, messagingApi } from "@line/bot-sdk"
import { Data } from "effect"
import { defineMessenger, RecipientNotFound } from "./internal/gate.js"

/** Where a subject's LINE user id comes from (e.g. the host's LINE Login table). */
export interface LineRecipients {
  /** The subject's LINE user id (`U…`) for this official account, or null. */
  readonly resolve: (tenant: string, subject: string) => Promise<string | null> | string | null
  /** Deletes what the host holds for the subject's LINE account on erasure; optional. */
  readonly forget?: (erasure: {
    readonly tenant: string
    readonly subject: string
    readonly aliases: ReadonlyArray<Intent.Alias>
  }) => Promise<void> | void
}

/** Options of `lineMessenger`: one per LINE Official Account. */
export interface LineMessengerOptions {
  /** A long-lived or stateless channel access token of the official account. */
  readonly channelAccessToken: string
  readonly recipients: LineRecipients
  /** API origin (default `https://api.line.me`); tests point it at a local server. */
  readonly baseURL?: string
  /** Keep an exclusion audience of withdrawn users for narrowcast (default true; audiences exist for TH, JP and TW accounts). */
  readonly exclusionAudience?: boolean
  /** Adapter name, unique within the kit (default `line`). */
  readonly name?: string
  /** The channel it sends on (default `line`). */
  readonly channel?: string
}

/** LINE message objects (text, flex, image, ...), as the SDK types them. */
export type LineMessage = messagingApi.Message

/** A broadcast reaches every friend with no per-recipient check, so consent-based purposes may not use it. */
export class BroadcastRefused extends Data.TaggedError("BroadcastRefused")<{
  readonly message: string
  readonly purpose: string
}> {
  readonly code = "BROADCAST_REFUSED"
  readonly isRetryable = false
}

/** What a multicast did: who got it, who was refused and why. */
export interface MulticastResult {
  readonly sent: ReadonlyArray<string>
  readonly refused: ReadonlyArray<{
    readonly subject: string
    readonly reason: Decision.Reason | "no_recipient"
  }>
}

/** What a narrowcast did: through LINE's narrowcast (50 or more recipients) or, below LINE's minimum audience, a gated multicast. */
export type NarrowcastResult =
  | {
      readonly via: "narrowcast"
      readonly requestId: string | null
      readonly audienceGroupId: number
      readonly exclusionAudienceGroupId: number | null
      readonly recipients: number
    }
  | { readonly via: "multicast"; readonly recipients: number }

/** The gated LINE messenger: what `kit.adapter(lineMessenger(...))` returns. */
export interface LineMessenger {
  /** Pushes to one subject if allowed now; rejects with `ConsentRequired` or `RecipientNotFound`. */
  readonly push: (request: {
    readonly tenant: string
    readonly subject: string
    readonly purpose: string
    readonly messages: ReadonlyArray<LineMessage>
    readonly notificationDisabled?: boolean
  }) => Promise<{
    readonly sentMessages: ReadonlyArray<{ readonly id: string }>
    readonly decision: Decision.Decision
  }>
  /** Sends to the subjects that allow it now (each decided on its own), 500 per LINE request. */
  readonly multicast: (request: {
    readonly tenant: string
    readonly subjects: ReadonlyArray<string>
    readonly purpose: string
    readonly messages: ReadonlyArray<LineMessage>
    readonly notificationDisabled?: boolean
  }) => Promise<MulticastResult>
  /**
   * Sends to every subject who allows `purpose` now: an audience uploaded from current consent,
   * excluding the exclusion audience (withdrawals that land before LINE delivers). LINE refuses
   * audiences under 50 users, so smaller sends go out as a gated multicast.
   */
  readonly narrowcast: (request: {
    readonly tenant: string
    readonly purpose: string
    readonly messages: ReadonlyArray<LineMessage>
    /** A demographic filter applied on top of consent. */
    readonly filter?: messagingApi.Filter
    readonly notificationDisabled?: boolean
  }) => Promise<NarrowcastResult>
  /** Broadcasts to every friend, only for purposes that need no consent (e.g. a `legal_obligation` notice); rejects with `BroadcastRefused` otherwise. */
  readonly broadcast: (request: {
    readonly tenant: string
    readonly purpose: string
    readonly messages: ReadonlyArray<LineMessage>
  }) => Promise<void>
  /** The exclusion audience's id for a tenant, once one exists. */
  readonly exclusionAudience: (tenant: string) => number | null
}

/** LINE's smallest audience a narrowcast may use. */
export const MIN_AUDIENCE = 50
const MULTICAST_MAX = 500
const UPLOAD_MAX = 10_000

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

// LINE audience names: at most 120 characters, no control characters.
const audienceName = (text: string) => text.replace(/[\p{Cc}]/gu, " ").slice(0, 120)

interface Exclusion {
  audienceGroupId: number | null
  /** Suppressed subjects and their LINE ids. */
  readonly members: Map<string, string>
  /** LINE ids in the audience at LINE. */
  readonly uploaded: Set<string>
}

/**
 * The gated LINE messenger as an adapter descriptor: register it with the kit
 * (`createConsentKit({ messengers: [line] })`), then `kit.adapter(line)` gives the messenger whose
 * every send passes the kit's gate. The SDK clients are built on first use.
 */
export const lineMessenger = (options: LineMessengerOptions): AdapterDescriptor<LineMessenger> => {
  const channel = options.channel ?? "line"
  const useExclusion = options.exclusionAudience ?? true
  let sdk:
    | { client: messagingApi.MessagingApiClient; audiences: manageAudience.ManageAudienceClient }
    | undefined
  // A process that only records never builds the SDK clients.
  const line = () =>
    (sdk ??= {
      client: new messagingApi.MessagingApiClient({
        channelAccessToken: options.channelAccessToken,
        baseURL: options.baseURL,
      }),
      audiences: new manageAudience.ManageAudienceClient({
        channelAccessToken: options.channelAccessToken,
        baseURL: options.baseURL,
      }),
    })

  const exclusions = new Map<string, Exclusion>()
  const exclusionOf = (tenant: string): Exclusion => {
    let e = exclusions.get(tenant)
    if (!e) {
      e = { audienceGroupId: null, members: new Map(), uploaded: new Set() }
      exclusions.set(tenant, e)
    }
    return e
  }
  // LINE allows one operation at a time per audience: every exclusion change of a tenant runs in turn.
  const queues = new Map<string, Promise<unknown>>()
  const serially = <A>(tenant: string, task: () => Promise<A>): Promise<A> => {
    const next = (queues.get(tenant) ?? Promise.resolve()).then(task, task)
    queues.set(
      tenant,
      next.catch(() => undefined),
    )
    return next
  }

  const upload = async (description: string, ids: ReadonlyArray<string>): Promise<number> => {
    const [first = [], ...rest] = chunks(ids, UPLOAD_MAX)
    const created = await line().audiences.createAudienceGroup({
      description: audienceName(description),
      audiences: first.map((id) => ({ id })),
    })
    const audienceGroupId = created.audienceGroupId!
    for (const chunk of rest)
      await line().audiences.addAudienceToAudienceGroup({
        audienceGroupId,
        audiences: chunk.map((id) => ({ id })),
      })
    return audienceGroupId
  }

  // Replaces the tenant's exclusion audience with one holding exactly the suppressed users now.
  const rebuild = async (tenant: string, e: Exclusion) => {
    const ids = [...new Set(e.members.values())]
    const old = e.audienceGroupId
    e.audienceGroupId =
      ids.length > 0 ? await upload(`consentkit exclusion ${tenant} ${new Date().toISOString()}`, ids) : null
    e.uploaded.clear()
    for (const id of ids) e.uploaded.add(id)
    if (old !== null) await line().audiences.deleteAudienceGroup(old)
  }

  const gateOptions: Parameters<typeof defineMessenger>[0] = {
    name: options.name ?? "line",
    channels: [channel],
    suppress: async (intent) => {
      if (!useExclusion) return
      const userId = await options.recipients.resolve(intent.tenant, intent.subject)
      if (!userId) return
      await serially(intent.tenant, async () => {
        const e = exclusionOf(intent.tenant)
        e.members.set(intent.subject, userId)
        if (e.uploaded.has(userId)) return
        if (e.audienceGroupId === null) {
          e.audienceGroupId = await upload(`consentkit exclusion ${intent.tenant}`, [userId])
        } else {
          await line().audiences.addAudienceToAudienceGroup({
            audienceGroupId: e.audienceGroupId,
            audiences: [{ id: userId }],
          })
        }
        e.uploaded.add(userId)
      })
    },
    resume: async (intent) => {
      await serially(intent.tenant, async () => {
        const e = exclusions.get(intent.tenant)
        const userId = e?.members.get(intent.subject)
        if (!e || userId === undefined) return
        e.members.delete(intent.subject)
        // LINE cannot remove a user from an audience: replace it with one that leaves them out.
        if (![...e.members.values()].includes(userId)) await rebuild(intent.tenant, e)
      })
    },
    erase: async (intent) => {
      await serially(intent.tenant, async () => {
        const e = exclusions.get(intent.tenant)
        if (e?.members.delete(intent.subject)) await rebuild(intent.tenant, e)
      })
      await options.recipients.forget?.({
        tenant: intent.tenant,
        subject: intent.subject,
        aliases: intent.aliases,
      })
    },
  }

  const lineIdOf = async (tenant: string, subject: string): Promise<string> => {
    const userId = await options.recipients.resolve(tenant, subject)
    if (!userId)
      throw new RecipientNotFound({
        message: `no LINE user id for subject "${subject}" of tenant "${tenant}"`,
        tenant,
        subject,
        channel,
      })
    return userId
  }

  return defineMessenger(gateOptions, (gate): LineMessenger => {
    const multicast: LineMessenger["multicast"] = async ({
      tenant,
      subjects,
      purpose,
      messages,
      notificationDisabled,
    }) => {
      const sent: Array<string> = []
      const to: Array<string> = []
      const refused: Array<MulticastResult["refused"][number]> = []
      for (const subject of new Set(subjects)) {
        try {
          await gate.assertSend({ tenant, subject, channel, purpose })
          to.push(await lineIdOf(tenant, subject))
          sent.push(subject)
        } catch (error) {
          if (error instanceof ConsentRequired) refused.push({ subject, reason: error.decision.reason })
          else if (error instanceof RecipientNotFound) refused.push({ subject, reason: "no_recipient" })
          else throw error
        }
      }
      for (const batch of chunks(to, MULTICAST_MAX))
        await line().client.multicast(
          { to: batch, messages: [...messages], notificationDisabled },
          randomUUID(),
        )
      return { sent, refused }
    }

    return {
      push: async ({ tenant, subject, purpose, messages, notificationDisabled }) => {
        const decision = await gate.assertSend({ tenant, subject, channel, purpose })
        const to = await lineIdOf(tenant, subject)
        const response = await line().client.pushMessage(
          { to, messages: [...messages], notificationDisabled },
          randomUUID(),
        )
        return { sentMessages: response.sentMessages.map((m) => ({ id: m.id })), decision }
      },
      multicast,
      narrowcast: async ({ tenant, purpose, messages, filter, notificationDisabled }) => {
        const kit = gate.kit
        const subjects: Array<string> = []
        const ids: Array<string> = []
        for await (const subject of kit.audience({ tenant, purpose })) {
          if (gate.localRefusal({ tenant, subject, channel, purpose })) continue
          const userId = await options.recipients.resolve(tenant, subject)
          if (!userId) continue
          subjects.push(subject)
          ids.push(userId)
        }
        if (ids.length < MIN_AUDIENCE) {
          const result = await multicast({ tenant, subjects, purpose, messages, notificationDisabled })
          return { via: "multicast", recipients: result.sent.length }
        }
        const audienceGroupId = await upload(
          `consentkit ${purpose} ${tenant} ${new Date().toISOString()}`,
          ids,
        )
        const exclusion = useExclusion
          ? await serially(tenant, async () => {
              const e = exclusionOf(tenant)
              // An audience under LINE's minimum fails the whole send; the consent audience above already leaves those users out.
              return e.audienceGroupId !== null && e.uploaded.size >= MIN_AUDIENCE ? e.audienceGroupId : null
            })
          : null
        const consenting: messagingApi.Recipient = { type: "audience", audienceGroupId }
        const recipient: messagingApi.Recipient =
          exclusion === null
            ? consenting
            : {
                type: "operator",
                and: [
                  consenting,
                  { type: "operator", not: { type: "audience", audienceGroupId: exclusion } },
                ],
              }
        const response = await line().client.narrowcastWithHttpInfo(
          { messages: [...messages], recipient, filter, notificationDisabled },
          randomUUID(),
        )
        return {
          via: "narrowcast",
          requestId: response.httpResponse.headers.get("x-line-request-id"),
          audienceGroupId,
          exclusionAudienceGroupId: exclusion,
          recipients: ids.length,
        }
      },
      broadcast: async ({ tenant, purpose, messages }) => {
        const kit = gate.kit
        const basis = kit.policy.purposes.get(purpose)?.lawfulBasis
        if (basis === undefined || basis === "consent" || basis === "legitimate_interest")
          throw new BroadcastRefused({
            message: `broadcast refused for "${purpose}" of tenant "${tenant}": it reaches every friend unchecked, so only purposes that need no consent may use it (use narrowcast)`,
            purpose,
          })
        await line().client.broadcast({ messages: [...messages] }, randomUUID())
      },
      exclusionAudience: (tenant) => exclusions.get(tenant)?.audienceGroupId ?? null,
    }
  })
}
