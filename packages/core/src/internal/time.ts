/** A consent lifetime, as calendar months and/or days. */
export interface Lifetime {
  readonly months?: number
  readonly days?: number
}

/** Adds a calendar lifetime to an instant, in UTC; a month end clamps (Jan 31 + 1 month = Feb 28/29). */
export const addLifetime = (from: Date, lifetime: Lifetime): Date => {
  const d = new Date(from.getTime())
  if (lifetime.months) {
    const day = d.getUTCDate()
    d.setUTCDate(1)
    d.setUTCMonth(d.getUTCMonth() + lifetime.months)
    const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()
    d.setUTCDate(Math.min(day, lastDay))
  }
  if (lifetime.days) d.setTime(d.getTime() + lifetime.days * 86_400_000)
  return d
}
