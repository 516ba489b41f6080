/**
 * Re-consent impact: before a new notice version of a purpose is published as material, how
 * many subjects would lose each purpose, messenger channel and tracker category. A dry run over
 * stored state, page by page, with core's own `Policy.withVersion` and `Decision.decide`; it
 * writes nothing.
 *
 * @since 0.1.0
 */
import type * as ConsentStore from "./ConsentStore.js"
import * as Decision from "./Decision.js"
import * as Policy from "./Policy.js"
import { Effect } from "effect"
import { type ImportTarget, runtimeOf } from "./Import.js"

/** What a material version would take away. */
export interface ReconsentImpact {
  readonly tenant: string
  readonly purpose: string
  readonly version: number
  readonly effectiveAt: Date
  /** Subjects whose stored state grants the purpose (the only ones a new version can affect). */
  readonly scanned: number
  /** Subjects who would lose at least one purpose. */
  readonly affected: number
  /** Per purpose: subjects allowed now and refused under the new version. */
  readonly purposes: Readonly<Record<string, number>>
  /** Per channel: subjects who could be messaged on it now and no longer could. */
  readonly channels: Readonly<Record<string, number>>
  /** Per tracker category: subjects tracked now who no longer would be. */
  readonly categories: Readonly<Record<string, number>>
  readonly pages: number
}

/** Options of `reconsentImpact`. */
export interface ReconsentOptions {
  readonly tenant: string
  /** When the new version would take effect (default now); decisions are compared at that instant. */
  readonly effectiveAt?: Date
  /** Subjects read per page (default 500): memory holds one page at a time. */
  readonly pageSize?: number
}

const isStore = (
  source: ConsentStore.ConsentStoreShape | ImportTarget,
): source is ConsentStore.ConsentStoreShape => "withSubject" in source && "audiencePage" in source

/** Every purpose a subject is allowed, and the channels and categories that follow from them. */
const allowances = (policy: Policy.Policy, state: Parameters<typeof Decision.decide>[1], at: number) => {
  const purposes = new Set<string>()
  for (const id of policy.purposeIds) if (Decision.decide(policy, state, id, at).allowed) purposes.add(id)
  const every = (governing: ReadonlyArray<string>) =>
    governing.length > 0 && governing.every((id) => purposes.has(id))
  const channels = new Set<string>()
  const categories = new Set<string>()
  for (const id of policy.purposeIds) {
    const purpose = policy.purposes.get(id)!
    for (const channel of purpose.channels)
      if (every(Policy.purposesForChannel(policy, channel))) channels.add(channel)
    for (const category of purpose.trackerCategories)
      if (every(Policy.purposesForCategory(policy, category))) categories.add(category)
  }
  return { purposes, channels, categories }
}

/** Counts who would lose what if `purposeId` got a new material notice version. */
export const reconsentImpact = async (
  source: ConsentStore.ConsentStoreShape | ImportTarget,
  policy: Policy.Policy,
  purposeId: string,
  newVersion: number | Omit<Policy.NoticeVersionInput, "material">,
  options: ReconsentOptions,
): Promise<ReconsentImpact> => {
  const store = isStore(source) ? source : (await runtimeOf(source)).store
  const purpose = policy.purposes.get(purposeId)
  if (!purpose) throw new Policy.PolicyDefinitionError(`unknown purpose "${purposeId}"`)
  const effectiveAt = options.effectiveAt ?? new Date()
  const version =
    typeof newVersion === "number"
      ? { version: newVersion, effectiveAt, textHash: "preview" }
      : { ...newVersion, effectiveAt: newVersion.effectiveAt ?? effectiveAt }
  if (purpose.versions.some((v) => v.version === version.version)) {
    throw new Policy.PolicyDefinitionError(`"${purposeId}" already has notice version ${version.version}`)
  }
  const next = Policy.withVersion(policy, purposeId, { ...version, material: true })
  const at = Math.max(effectiveAt.getTime(), new Date(version.effectiveAt).getTime())
  const pageSize = Math.max(1, options.pageSize ?? 500)
  // Keyed by names from the policy (channels and categories are free text): no prototype.
  const purposes: Record<string, number> = Object.create(null)
  const channels: Record<string, number> = Object.create(null)
  const categories: Record<string, number> = Object.create(null)
  const bump = (counts: Record<string, number>, key: string) => {
    counts[key] = (counts[key] ?? 0) + 1
  }
  let scanned = 0
  let affected = 0
  let pages = 0
  let after: string | null = null
  do {
    const page: ConsentStore.AudiencePage = await Effect.runPromise(
      store.audiencePage({ tenant: options.tenant, purposes: [purposeId], after, limit: pageSize }),
    )
    pages++
    for (const state of page.states) {
      scanned++
      const before = allowances(policy, state, at)
      const afterChange = allowances(next, state, at)
      let lost = false
      for (const id of before.purposes) {
        if (!afterChange.purposes.has(id)) {
          bump(purposes, id)
          lost = true
        }
      }
      for (const channel of before.channels) if (!afterChange.channels.has(channel)) bump(channels, channel)
      for (const category of before.categories)
        if (!afterChange.categories.has(category)) bump(categories, category)
      if (lost) affected++
    }
    after = page.next
  } while (after !== null)
  return {
    tenant: options.tenant,
    purpose: purposeId,
    version: version.version,
    effectiveAt: new Date(at),
    scanned,
    affected,
    purposes,
    channels,
    categories,
    pages,
  }
}
