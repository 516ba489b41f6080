/** min / median / max of a list of numbers. */
export interface Spread {
  readonly min: number
  readonly median: number
  readonly max: number
}

/** Summarises samples. */
export const spread = (samples: ReadonlyArray<number>): Spread => {
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]! }
}

/** A percentile (0-100) of samples. */
export const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Formats a number with thousands separators and up to `digits` decimals. */
export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

/** One line of the results table. */
export interface Figure {
  readonly scenario: string
  readonly subject: string
  readonly baseline: string
  readonly unit: string
  /** The measured values of the subject and of the baseline, per run. */
  readonly ours: Spread
  readonly theirs: Spread | null
  /** ours / theirs per run (higher is better unless `lowerIsBetter`). */
  readonly ratio: Spread | null
  readonly goal: string
  readonly met: boolean | null
  readonly note?: string
  /** The physical-limit line (a raw driver doing the same writes), measured in the same run. */
  readonly limit?: { readonly label: string; readonly value: Spread; readonly ratio: Spread }
}
