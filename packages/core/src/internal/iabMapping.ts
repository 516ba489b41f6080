/** The `iab` field of a policy purpose (its Schema lives here to keep `Policy.ts` small). */
import { Schema } from "effect"

/**
 * How a purpose maps onto the IAB Transparency and Consent Framework: the TCF purposes (1 to 11)
 * and special features (1 to 2) it covers. `@consentkit/iab` reads it to encode TC and GPP strings.
 */
export const IabMapping = Schema.Struct({
  tcfPurposes: Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 11 }))).check(
    Schema.isMinLength(1),
  ),
  specialFeatures: Schema.optional(
    Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 2 }))),
  ),
})
/** How a purpose maps onto TCF purposes and special features. */
export type IabMapping = typeof IabMapping.Type

/** Decodes a purpose's `iab` field, every problem at once. */
export const decodeIabMapping = Schema.decodeUnknownResult(IabMapping)
