/**
 * What an erasure keeps about who asked for it: not the name or address given, but a keyed
 * digest of it (HMAC-SHA-256 under the kit's secret, per tenant), so the erasure record holds no
 * personal data and the controller can still check a claimed requester.
 *
 * @since 0.3.0
 */
import { hmacSha256Hex } from "./internal/crypto.js"

/** The digest `erase` keeps for `requestedBy`: `hmac-sha256:<hex>`. */
export const requestedByDigest = async (
  secret: string,
  tenant: string,
  requestedBy: string,
): Promise<string> => `hmac-sha256:${await hmacSha256Hex(secret, `requested-by:${tenant}:${requestedBy}`)}`
