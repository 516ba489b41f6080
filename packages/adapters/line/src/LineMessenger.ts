/**
 * LINE Messaging API behind the consent gate (@line/bot-sdk). Push and multicast are decided per
 * recipient at send time; broadcast reaches every friend, so it is refused for purposes that need
 * consent; narrowcast goes to an audience built from current consent, minus an exclusion audience
 * of everyone withdrawn, which LINE applies when it actually delivers.
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"
import type { AdapterDescriptor, Decision, Intent } from "@consentkit/core"
import { ConsentRequired } from "@consentkit/core"
import { HTTPFetchError, manageAudience, messagingApi } from "@line/bot-sdk"
import { Data } from "effect"
import { defineMessenger, RecipientNotFound } from "./internal/gate.js"
import { requireSecret } from "./internal/secret.js"

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
  /** A long-lived or stateless channel access token of the official account (read it from the environment; empty is refused). */
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
    /**
     * What this send is in your system (an outbox row, `journey:step:subject`): every call with the
     * same id sends the same `X-Line-Retry-Key`, so LINE delivers a retried push once. Without it
     * each call is a new send.
     */
    readonly deliveryId?: string
  }) => Promise<{
    /** The ids LINE returned; empty when LINE's answer carried none (a repeated retry key, or a 2xx with no body). */
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
    /** As for `push`: the same id sends the same retry key per 500-recipient batch. */
    readonly deliveryId?: string
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
    /** As for `push`: the same id sends the same retry key. */
    readonly deliveryId?: string
  }) => Promise<NarrowcastResult>
  /** Broadcasts to every friend, only for purposes that need no consent (e.g. a `legal_obligation` notice); rejects with `BroadcastRefused` otherwise. */
  readonly broadcast: (request: {
    readonly tenant: string
    readonly purpose: string
    readonly messages: ReadonlyArray<LineMessage>
    /** As for `push`: the same id sends the same retry key. */
    readonly deliveryId?: string
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

// A fixed namespace, so retry keys are RFC 4122 version-5 UUIDs of what the send is.
const RETRY_KEY_NAMESPACE = Buffer.from("6f1c2a52e0b54d3e9a7d3c1b5e8f0a47", "hex")

/** A name-based (version 5) UUID: the same name gives the same UUID, as LINE's retry key must be across retries. */
const uuid5 = (name: string): string => {
  const hash = createHash("sha1").update(RETRY_KEY_NAMESPACE).update(name, "utf8").digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** LINE's answer to a retry key it already accepted: 409 with the first request's id (the send happened). */
const alreadyAccepted = (error: unknown): error is HTTPFetchError =>
  error instanceof HTTPFetchError &&
  error.status === 409 &&
  error.headers.get("x-line-accepted-request-id") !== null

/** The `sentMessages` of a push answer, whatever the answer's shape (null body, `{}`, a 409's body). */
const sentMessagesOf = (body: unknown): ReadonlyArray<{ readonly id: string }> => {
  const list =
    typeof body === "object" && body !== null ? (body as { sentMessages?: unknown }).sentMessages : undefined
  if (!Array.isArray(list)) return []
  return list.flatMap((m: unknown) => {
    const id = typeof m === "object" && m !== null ? (m as { id?: unknown }).id : undefined
    return typeof id === "string" ? [{ id }] : []
  })
}

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
  requireSecret("channelAccessToken", "LINE_CHANNEL_ACCESS_TOKEN", options.channelAccessToken)
  const channel = options.channel ?? "line"
  const name = options.name ?? "line"
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
    name,
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

  // The key names the send, never the attempt: a retry after a lost answer is a repeat LINE drops.
  const retryKey = (deliveryId: string | undefined, ...what: ReadonlyArray<string | number>): string =>
    deliveryId === undefined
      ? randomUUID()
      : uuid5(JSON.stringify(["consentkit/line-retry-key/v1", name, ...what, deliveryId]))
  // Sends once per key: a 409 for an accepted key means an earlier attempt was delivered. The SDK
  // only parses a body after a 2xx, so a SyntaxError is a delivered send whose answer is unreadable.
  const once = async <A>(
    send: () => Promise<A>,
    accepted: (error: HTTPFetchError | null) => A,
  ): Promise<A> => {
    try {
      return await send()
    } catch (error) {
      if (alreadyAccepted(error)) return accepted(error)
      if (error instanceof SyntaxError) return accepted(null)
      throw error
    }
  }
  const parsed = (text: string): unknown => {
    try {
      return JSON.parse(text)
    } catch {
      return null
    }
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
      deliveryId,
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
      let index = 0
      for (const batch of chunks(to, MULTICAST_MAX)) {
        const key = retryKey(deliveryId, "multicast", tenant, index++)
        await once(
          () => line().client.multicast({ to: batch, messages: [...messages], notificationDisabled }, key),
          () => ({}),
        )
      }
      return { sent, refused }
    }

    return {
      push: async ({ tenant, subject, purpose, messages, notificationDisabled, deliveryId }) => {
        const decision = await gate.assertSend({ tenant, subject, channel, purpose })
        const to = await lineIdOf(tenant, subject)
        const key = retryKey(deliveryId, "push", tenant, subject)
        // Any 2xx is a delivery: its body is only informative, so a missing `sentMessages` must not turn it into a failure a caller retries.
        const body = await once<unknown>(
          async () =>
            (
              await line().client.pushMessageWithHttpInfo(
                { to, messages: [...messages], notificationDisabled },
                key,
              )
            ).body,
          (error) => (error ? parsed(error.body) : null),
        )
        return { sentMessages: sentMessagesOf(body), decision }
      },
      multicast,
      narrowcast: async ({ tenant, purpose, messages, filter, notificationDisabled, deliveryId }) => {
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
          const result = await multicast({
            tenant,
            subjects,
            purpose,
            messages,
            notificationDisabled,
            deliveryId,
          })
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
        const key = retryKey(deliveryId, "narrowcast", tenant, purpose)
        const requestId = await once(
          async () =>
            (
              await line().client.narrowcastWithHttpInfo(
                { messages: [...messages], recipient, filter, notificationDisabled },
                key,
              )
            ).httpResponse.headers.get("x-line-request-id"),
          (error) => error?.headers.get("x-line-accepted-request-id") ?? null,
        )
        return {
          via: "narrowcast",
          requestId,
          audienceGroupId,
          exclusionAudienceGroupId: exclusion,
          recipients: ids.length,
        }
      },
      broadcast: async ({ tenant, purpose, messages, deliveryId }) => {
        const kit = gate.kit
        const basis = kit.policy.purposes.get(purpose)?.lawfulBasis
        if (basis === undefined || basis === "consent" || basis === "legitimate_interest")
          throw new BroadcastRefused({
            message: `broadcast refused for "${purpose}" of tenant "${tenant}": it reaches every friend unchecked, so only purposes that need no consent may use it (use narrowcast)`,
            purpose,
          })
        const key = retryKey(deliveryId, "broadcast", tenant, purpose)
        await once(
          () => line().client.broadcast({ messages: [...messages] }, key),
          () => ({}),
        )
      },
      exclusionAudience: (tenant) => exclusions.get(tenant)?.audienceGroupId ?? null,
    }
  })
}
