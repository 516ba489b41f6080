/**
 * Identity linking: an alias (anonymous device id, hashed email, LINE user id) that recorded
 * consent joins a subject. The merge rule: a refusal or withdrawal on either side wins over a
 * grant, whatever their times; between two refusals or two grants the newer wins. A merge never
 * turns a refusal into a grant: the subject must grant again while identified.
 *
 * @since 0.1.0
 */
import type { Action } from "./Ledger.js"
import type { PurposeState, SubjectState } from "./State.js"

/** A decision the merge carries onto the subject's ledger. */
export interface Carried {
  readonly purpose: string
  /** The one channel of the purpose the standing is about; absent for the whole purpose. */
  readonly channel?: string
  readonly action: Action
  readonly noticeVersion: number
  readonly occurredAt: Date
  /** The alias event it comes from. */
  readonly fromEventId: string
}

const actionOf = (s: PurposeState): Action =>
  s.status === "granted" ? "grant" : s.status === "denied" ? "deny" : "withdraw"

/** The merged standing of one purpose. */
export const mergePurpose = (target: PurposeState | undefined, alias: PurposeState): PurposeState => {
  if (!target) return alias
  const targetRefuses = target.status !== "granted"
  const aliasRefuses = alias.status !== "granted"
  if (targetRefuses !== aliasRefuses) return targetRefuses ? target : alias
  return alias.occurredAt.getTime() > target.occurredAt.getTime() ? alias : target
}

/**
 * What merging `alias` into `target` adds to the target's ledger: one event per purpose whose
 * merged standing comes from the alias.
 */
export const merge = (target: SubjectState | undefined, alias: SubjectState): Array<Carried> => {
  const carried: Array<Carried> = []
  for (const [key, fromAlias] of alias.purposes) {
    const current = target?.purposes.get(key)
    const merged = mergePurpose(current, fromAlias)
    if (
      merged === fromAlias &&
      (!current || current.status !== fromAlias.status || current.eventId !== fromAlias.eventId)
    ) {
      carried.push({
        purpose: fromAlias.purpose,
        ...(fromAlias.channel !== undefined ? { channel: fromAlias.channel } : {}),
        action: actionOf(fromAlias),
        noticeVersion: fromAlias.noticeVersion,
        occurredAt: fromAlias.occurredAt,
        fromEventId: fromAlias.eventId,
      })
    }
  }
  return carried
}
