/**
 * An `authorizeOperator` hook for a bearer token from the environment: it refuses every request
 * when the token is unset or short, and compares in constant time.
 *
 * @since 0.3.0
 */
import { createHash, timingSafeEqual } from "node:crypto"

/** The fewest characters an operator token may have. */
export const MIN_OPERATOR_TOKEN_LENGTH = 32

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest()

/**
 * Allows a request whose `Authorization` is `Bearer <token>`, compared in constant time. With no
 * token (an unset environment variable) or one shorter than 32 characters, every request is
 * refused and `onMisconfigured` (default: a warning) says why once.
 *
 * @example
 * ```ts
 * createHandler(kit, { tenant: "siamtea", authorizeOperator: operatorToken(process.env.DPO_TOKEN) })
 * ```
 */
export const operatorToken = (
  token: string | undefined,
  options: { readonly onMisconfigured?: (message: string) => void } = {},
): ((request: Request) => boolean) => {
  if (token === undefined || token.trim().length < MIN_OPERATOR_TOKEN_LENGTH) {
    const message = `operator routes are closed: the operator token is ${token === undefined || token === "" ? "not set" : `shorter than ${MIN_OPERATOR_TOKEN_LENGTH} characters`}`
    ;(options.onMisconfigured ?? ((m: string) => console.warn(`consentkit: ${m}`)))(message)
    return () => false
  }
  const expected = digest(`Bearer ${token}`)
  return (request) => {
    const given = request.headers.get("authorization")
    // Both sides are hashed to the same length first, so the comparison leaks neither length nor content.
    return given !== null && timingSafeEqual(digest(given), expected)
  }
}
