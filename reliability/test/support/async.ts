/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs `work` over `items` with at most `concurrency` at once; results in input order. */
export const pool = async <A, B>(
  items: ReadonlyArray<A>,
  concurrency: number,
  work: (item: A, index: number) => Promise<B>,
): Promise<Array<B>> => {
  const results = new Array<B>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return results
}

/** A seeded PRNG (mulberry32), so a failing run can be replayed with the same choices. */
export const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Polls `check` until it returns true, at most `limitMs`; false if it never did. */
export const until = async (check: () => Promise<boolean> | boolean, limitMs: number, everyMs = 25) => {
  const end = Date.now() + limitMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > end) return false
    await sleep(everyMs)
  }
}
