/** The send gate shared by every messenger adapter lives in core (`MessengerGate`); this names it for the package. */
import { MessengerGate } from "@consentkit/core"

/** A consentkit Promise client, whatever its policy's purpose ids. */
export type Kit = MessengerGate.Kit
/** The subject has no address on this channel. */
export const RecipientNotFound = MessengerGate.RecipientNotFound
/** The subject has no address on this channel. */
export type RecipientNotFound = MessengerGate.RecipientNotFound
/** Builds the gate a messenger sends through. */
export const makeGate = MessengerGate.makeGate
