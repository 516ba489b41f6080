/**
 * @consentkit/core: automated consent management. A pure policy core (policy, ledger, decisions,
 * intents, receipts), the ports its stores and adapters implement, and the runtime that drives
 * them, as Effect services and as a Promise API.
 *
 * @since 0.1.0
 */
export * as Adapter from "./Adapter.js"
export { type Client, type ClientOptions, createConsentKit, type TypedRecordInput } from "./Client.js"
export * as Command from "./Command.js"
export * as ConsentKit from "./ConsentKit.js"
export * as ConsentStore from "./ConsentStore.js"
export * as Decision from "./Decision.js"
export * as Dispatcher from "./Dispatcher.js"
export * as Errors from "./Errors.js"
export { AdapterError, ConsentRequired, InvalidCommand, NotFound, StoreError } from "./Errors.js"
export * as EventBus from "./EventBus.js"
export * as Identity from "./Identity.js"
export * as Intent from "./Intent.js"
export * as Ledger from "./Ledger.js"
export * as MemoryStore from "./MemoryStore.js"
export * as Messenger from "./Messenger.js"
export * as Policy from "./Policy.js"
export * as Receipt from "./Receipt.js"
export * as State from "./State.js"
export * as Tracker from "./Tracker.js"
export * as OptOut from "./OptOut.js"
export * as Replica from "./Replica.js"
export * as Campaign from "./Campaign.js"
export * as MessengerGate from "./MessengerGate.js"
export type { Route, RouteContext } from "./Route.js"
export * as Suppressions from "./Suppressions.js"
export * as Import from "./Import.js"
export { ImportFailed, importConsents, rowFromRecord } from "./Import.js"
export * as Reconsent from "./Reconsent.js"
export { reconsentImpact } from "./Reconsent.js"
export * as Gatekeeper from "./Gatekeeper.js"
export type { AdapterDescriptor } from "./Gatekeeper.js"
export * as Registry from "./Registry.js"
