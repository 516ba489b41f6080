import Database from "better-sqlite3"
const stats = new Map<string, { n: number; ms: number }>()
const probe = new Database(":memory:")
const proto = Object.getPrototypeOf(probe.prepare("select 1")) as Record<
  string,
  (...a: Array<unknown>) => unknown
>
for (const m of ["run", "all", "get", "iterate"]) {
  const orig = proto[m]!
  proto[m] = function (this: { source: string }, ...args: Array<unknown>) {
    const t = performance.now()
    try {
      return orig.apply(this, args)
    } finally {
      const k = this.source.replace(/\s+/g, " ").slice(0, 110)
      const s = stats.get(k) ?? { n: 0, ms: 0 }
      s.n++
      s.ms += performance.now() - t
      stats.set(k, s)
    }
  }
}
const dbExec = Database.prototype.exec
export const report = (records: number) => {
  const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms)
  let total = 0
  for (const [, s] of rows) total += s.ms
  console.log(`sql total ${((total / records) * 1000).toFixed(0)} µs/record`)
  for (const [k, s] of rows.slice(0, 25))
    console.log(`${((s.ms / records) * 1000).toFixed(0).padStart(5)} µs ${(s.n / records).toFixed(2)}x  ${k}`)
  stats.clear()
}
void dbExec
