/**
 * Segments and journeys that only ever reach customers who allow it: an audience streamed from
 * the store and decided in full, and a journey whose every step re-checks consent at send time,
 * so a customer who withdraws mid-journey gets nothing after the withdrawal.
 *
 * @since 0.1.0
 */
import type { Client } from "./Client.js"
import type * as Decision from "./Decision.js"
import * as Policy from "./Policy.js"

/** Who may be messaged on a channel: the purpose of the message, or every purpose of the channel. */
export interface AudienceOptions<P extends string> {
  readonly tenant: string
  readonly channel: Policy.Channel
  readonly purpose?: P
  readonly pageSize?: number
}

/**
 * Streams the subjects who allow a channel's purpose now (page by page from the store, each
 * subject decided in full: parents, expiry, notice versions). With no purpose, every purpose of
 * the channel must allow it.
 */
export async function* audience<P extends string>(
  kit: Client<P>,
  options: AudienceOptions<P>,
): AsyncGenerator<string> {
  const purposes = (
    options.purpose !== undefined ? [options.purpose] : Policy.purposesForChannel(kit.policy, options.channel)
  ) as Array<P>
  const [first, ...rest] = purposes
  if (first === undefined) return
  for await (const subject of kit.audience({
    tenant: options.tenant,
    purpose: first,
    channel: options.channel,
    pageSize: options.pageSize,
  })) {
    let allowed = true
    for (const p of rest) {
      // Decided on the channel: a subject who opted out of it alone is not in its segment.
      if (!(await kit.decide(options.tenant, subject, p, { channel: options.channel })).allowed) {
        allowed = false
        break
      }
    }
    if (allowed) yield subject
  }
}

/** One step of a journey: a message on a channel for a purpose. */
export interface Step<P extends string, Message> {
  readonly id: string
  readonly channel: Policy.Channel
  readonly purpose: P
  /** Builds the message for a subject (only called when consent allows the step). */
  readonly message: (target: {
    readonly tenant: string
    readonly subject: string
  }) => Message | Promise<Message>
}

/** What a step did for one subject. */
export type StepOutcome =
  | { readonly step: string; readonly sent: true; readonly decision: Decision.Decision }
  | { readonly step: string; readonly sent: false; readonly decision: Decision.Decision }

/** A journey definition plus a runner that checks consent at every step. */
export interface Journey<P extends string, Message> {
  readonly id: string
  readonly steps: ReadonlyArray<Step<P, Message>>
  /**
   * Runs one step for one subject: decides at send time and calls `deliver` only when allowed.
   * The host's scheduler (cron, queue, workflow engine) decides when each step is due.
   */
  readonly runStep: (
    stepId: string,
    target: { readonly tenant: string; readonly subject: string },
  ) => Promise<StepOutcome>
}

/** Defines a journey whose steps are delivered by `deliver` (a messenger's gated send). */
export const journey = <P extends string, Message>(
  kit: Client<P>,
  definition: {
    readonly id: string
    readonly steps: ReadonlyArray<Step<P, Message>>
    readonly deliver: (
      message: Message,
      context: { readonly tenant: string; readonly subject: string; readonly step: Step<P, Message> },
    ) => Promise<void>
  },
): Journey<P, Message> => {
  const byId = new Map(definition.steps.map((s) => [s.id, s]))
  if (byId.size !== definition.steps.length)
    throw new Error(`journey "${definition.id}": step ids must be unique`)
  return {
    id: definition.id,
    steps: definition.steps,
    runStep: async (stepId, target) => {
      const step = byId.get(stepId)
      if (!step) throw new Error(`journey "${definition.id}" has no step "${stepId}"`)
      const decision = await kit.gate.send({ ...target, channel: step.channel, purpose: step.purpose })
      if (!decision.allowed) return { step: stepId, sent: false, decision }
      await definition.deliver(await step.message(target), { ...target, step })
      return { step: stepId, sent: true, decision }
    },
  }
}
