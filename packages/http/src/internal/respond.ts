/**
 * Errors as responses: the kit's tagged errors become their status codes and wire codes, a
 * `Reply` is answered as it is, anything else is reported to `onError` and answered 500.
 *
 * @since 0.2.0
 */
import { failure, Reply, type WireIssue } from "./wire.js"

const errorTag = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error
    ? String((error as { _tag: unknown })._tag)
    : undefined

export const toResponse = (
  error: unknown,
  request: Request,
  onError: ((error: unknown, request: Request) => void) | undefined,
): Response => {
  if (error instanceof Reply) return error.response
  const tag = errorTag(error)
  const e = error as {
    code?: string
    message?: string
    issues?: ReadonlyArray<WireIssue>
    isRetryable?: boolean
  }
  if (tag === "InvalidCommand")
    return failure(400, e.code ?? "MALFORMED", e.message ?? "invalid command", e.issues ?? [])
  if (tag === "NotFound") return failure(404, "NOT_FOUND", e.message ?? "not found")
  if (tag === "StoreError") {
    const response = failure(
      503,
      `STORE_${e.code ?? "UNKNOWN"}`,
      "the consent store is unavailable; try again",
    )
    if (e.isRetryable) response.headers.set("retry-after", "1")
    return response
  }
  onError?.(error, request)
  return failure(500, "INTERNAL", "internal error")
}
