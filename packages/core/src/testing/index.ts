/**
 * @consentkit/core/testing: the conformance suites every store, tracker and messenger runs, and
 * the policy they use. Each registers vitest tests; each test creates its own tenant.
 *
 * @since 0.1.0
 */
export { type BusHarness, busConformance, eventually, type Subscription } from "./bus.js"
export {
  type MessengerHarness,
  messengerConformance,
  type TrackerHarness,
  trackerConformance,
} from "./adapters.js"
export { breakable, type FeedHarness, feedConformance } from "./feed.js"
export { type ConformancePurpose, conformancePolicy, uniqueTenant } from "./policy.js"
export { type StoreHarness, storeConformance } from "./store.js"
export { promisedOutput, type ReadmeOptions, type ReadmeRun, runReadmeExample } from "./readme.js"
