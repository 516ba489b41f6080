/** The send gate shared by every messenger adapter lives in core (`MessengerGate`); this names it for the package. */
import { MessengerGate } from "@consentkit/core"

/** What an inbound opt-out source needs from the kit (any `createConsentKit(...)` client). */
export type OptOutKit = MessengerGate.OptOutKit
/** The subject has no address on this channel. */
export const RecipientNotFound = MessengerGate.RecipientNotFound
/** The subject has no address on this channel. */
export type RecipientNotFound = MessengerGate.RecipientNotFound
/** The messenger as an adapter descriptor, built with its gate when the kit first needs it. */
export const defineMessenger: typeof MessengerGate.defineMessenger = MessengerGate.defineMessenger
