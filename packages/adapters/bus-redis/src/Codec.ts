/**
 * The wire format: an intent as plain JSON (dates as ISO strings), one message per intent, so
 * services in any language can read the bus. It is core's `Intent.encode` / `Intent.decode`.
 *
 * @since 0.1.0
 */
import { Intent } from "@consentkit/core"

/** An intent as the bus carries it: plain JSON, dates as ISO strings. */
export const encodeIntent = Intent.encode

/** Reads an intent back into core's shape (`createdAt` a Date); throws on anything that is not one. */
export const decodeIntent = Intent.decode
