/** A LINE credential option that must hold the provider's value. */
export class MissingSecret extends Error {
  readonly code = "MISSING_SECRET"
}

/**
 * Refuses a secret that is missing, empty or only whitespace: an empty channel secret makes any
 * forged webhook verify (HMAC with an empty key is computable by anyone). No length rule: the
 * value is LINE's, not ours.
 */
export const requireSecret = (option: string, env: string, value: unknown): string => {
  if (typeof value !== "string" || value.trim() === "")
    throw new MissingSecret(
      `${option} is empty: pass the value from the LINE Developers console, e.g. process.env.${env}, and never a fallback`,
    )
  return value
}
