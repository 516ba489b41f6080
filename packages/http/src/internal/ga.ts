/**
 * The Google Analytics `_ga` cookie: `GA1.<depth>.<random>.<timestamp>`, whose client id is
 * `<random>.<timestamp>`. The cookie is set by page script, so it is hostile input: only that exact
 * shape (ASCII digits, bounded lengths) is read, and anything else is ignored.
 *
 * @since 0.3.0
 */

/** The longest `_ga` value read; a real one is about 27 characters. */
export const MAX_GA_COOKIE = 40

const GA_COOKIE = /^GA1\.[1-9]\.([1-9][0-9]{0,9})\.([1-9][0-9]{8,9})$/

/** The client id of a `_ga` cookie value, or null when it is not exactly a GA4 client id cookie. */
export const gaClientId = (value: string | undefined | null): string | null => {
  if (typeof value !== "string" || value.length > MAX_GA_COOKIE) return null
  const match = GA_COOKIE.exec(value)
  return match ? `${match[1]}.${match[2]}` : null
}
