import type { Writable } from "node:stream"

/**
 * A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise (so logs
 * and CI output stay readable). `total` is null when the input's size is unknown (stdin).
 */
export const progressBar = (out: Writable & { readonly isTTY?: boolean }, total: number | null) => {
  const tty = out.isTTY === true
  const started = Date.now()
  let lastDraw = 0
  let lastTenth = -1
  let drawn = false
  const format = (n: number, rejected: number) => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000)
    const rate = Math.round(n / seconds)
    const tail = `${n.toLocaleString("en-US")}${total !== null ? `/${total.toLocaleString("en-US")}` : ""} rows, ${rejected} rejected, ${rate}/s`
    if (total === null || total === 0) return tail
    const share = Math.min(1, n / total)
    const width = 30
    const filled = Math.round(share * width)
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}% ${tail}`
  }
  return {
    update: (n: number, rejected: number) => {
      if (tty) {
        const now = Date.now()
        if (now - lastDraw < 100 && (total === null || n < total)) return
        lastDraw = now
        out.write(`\r${format(n, rejected)}\u001b[K`)
        drawn = true
        return
      }
      const tenth = total ? Math.floor((n / total) * 10) : Math.floor(n / 10_000)
      if (tenth === lastTenth) return
      lastTenth = tenth
      out.write(`${format(n, rejected)}\n`)
    },
    done: () => {
      if (tty && drawn) out.write("\n")
    },
  }
}
