/**
 * Consent receipts: a record, given to the subject, of what they decided. Shaped as a Kantara
 * Initiative Consent Receipt v1.1 (the basis of ISO/IEC TS 27560), with each purpose's W3C DPV
 * status beside it.
 *
 * @since 0.1.0
 */
import type * as Decision from "./Decision.js"
import type { ConsentEvent } from "./Ledger.js"
import type { Policy } from "./Policy.js"

/** A Kantara Consent Receipt v1.1 purpose. */
export interface ReceiptPurpose {
  readonly purpose: string
  readonly purposeCategory: ReadonlyArray<string>
  readonly consentType: string
  readonly piiCategory: ReadonlyArray<string>
  readonly primaryPurpose: boolean
  readonly termination: string
  readonly thirdPartyDisclosure: boolean
  readonly thirdPartyName?: string
}

/** A Kantara Consent Receipt v1.1, plus consentkit's extension fields (prefixed `ck`). */
export interface Receipt {
  readonly version: "KI-CR-v1.1.0"
  readonly jurisdiction: string
  readonly consentTimestamp: number
  readonly collectionMethod: string
  readonly consentReceiptID: string
  readonly language?: string
  readonly piiPrincipalId: string
  readonly piiControllers: ReadonlyArray<{
    readonly piiController: string
    readonly contact: string
    readonly address: Readonly<Record<string, string>>
    readonly email: string
    readonly phone: string
    readonly piiControllerUrl?: string
  }>
  readonly policyUrl: string
  readonly services: ReadonlyArray<{
    readonly service: string
    readonly purposes: ReadonlyArray<ReceiptPurpose>
  }>
  readonly sensitive: boolean
  readonly spiCat: ReadonlyArray<string>
  /** Per purpose: the action, notice version, W3C DPV status and the ledger event hash. */
  readonly ckDecisions: ReadonlyArray<{
    readonly purpose: string
    readonly action: ConsentEvent["action"]
    readonly noticeVersion: number
    readonly noticeHash: string
    readonly dpv: Decision.DpvStatus
    readonly eventId: string
    readonly eventHash: string
  }>
}

const DPV_OF_ACTION = { grant: "ConsentGiven", deny: "ConsentRefused", withdraw: "ConsentWithdrawn" } as const

const termination = (policy: Policy, purposeId: string, event: ConsentEvent): string => {
  const purpose = policy.purposes.get(purposeId)
  const lifetime = purpose?.lifetime
  const until = event.expiresAt ? ` or on ${event.expiresAt.toISOString()}` : ""
  const span = lifetime
    ? `${lifetime.months ? `${lifetime.months} months` : ""}${lifetime.days ? ` ${lifetime.days} days` : ""}`.trim()
    : ""
  return `Until withdrawn at ${policy.policyUrl}${until}${span ? ` (lifetime ${span})` : ""}`
}

/** The receipt for the events one command recorded (all share subject, time and source). */
export const fromEvents = (
  policy: Policy,
  receiptId: string,
  events: ReadonlyArray<ConsentEvent>,
): Receipt => {
  const first = events[0]
  if (!first) throw new Error("a receipt needs at least one event")
  const purposes: Array<ReceiptPurpose> = events.map((event, i) => {
    const purpose = policy.purposes.get(event.purpose)
    const base = {
      purpose: purpose?.title.en ?? event.purpose,
      purposeCategory: purpose?.purposeCategory.length ? purpose.purposeCategory : [event.purpose],
      consentType: event.action === "grant" ? "EXPLICIT" : event.action === "deny" ? "REFUSED" : "WITHDRAWN",
      piiCategory: purpose?.piiCategories.length ? purpose.piiCategories : ["unspecified"],
      primaryPurpose: i === 0,
      termination: termination(policy, event.purpose, event),
    }
    return purpose?.thirdParty
      ? { ...base, thirdPartyDisclosure: true, thirdPartyName: purpose.thirdParty }
      : { ...base, thirdPartyDisclosure: false }
  })
  const controller = policy.controller
  return {
    version: "KI-CR-v1.1.0",
    jurisdiction: first.jurisdiction,
    consentTimestamp: Math.floor(first.occurredAt.getTime() / 1000),
    collectionMethod: first.source,
    consentReceiptID: receiptId,
    ...(first.evidence.locale ? { language: first.evidence.locale } : {}),
    piiPrincipalId: first.subject,
    piiControllers: [
      {
        piiController: controller.name,
        contact: controller.contact,
        address: controller.address,
        email: controller.email,
        phone: controller.phone,
        ...(controller.url ? { piiControllerUrl: controller.url } : {}),
      },
    ],
    policyUrl: policy.policyUrl,
    services: [{ service: controller.name, purposes }],
    sensitive: false,
    spiCat: [],
    ckDecisions: events.map((event) => ({
      purpose: event.purpose,
      action: event.action,
      noticeVersion: event.noticeVersion,
      // The notice's hash is the policy's: evidence a caller supplied never stands in for it.
      noticeHash:
        policy.purposes.get(event.purpose)?.versions.find((v) => v.version === event.noticeVersion)
          ?.textHash ?? "",
      dpv: DPV_OF_ACTION[event.action],
      eventId: event.id,
      eventHash: event.hash,
    })),
  }
}
