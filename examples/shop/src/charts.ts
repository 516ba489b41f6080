/**
 * The dashboard's charts as inline SVG, drawn on the server (no chart library): weekly consent rates
 * per purpose and notice version, and bars for counts. Each chart is an image with a text
 * alternative; the numbers behind it are in a table beside it for screen readers.
 */
import type { ConsentStore } from "@consentkit/core"
import { escapeHtml, type Html, raw } from "./html.js"

const DAY = 86_400_000
const WEEK = 7 * DAY

/** One line of a chart: a value (0..1) per week, null where there were no decisions. */
export interface Series {
  readonly label: string
  readonly colour: string
  readonly points: ReadonlyArray<{
    readonly week: number
    readonly rate: number | null
    readonly decisions: number
  }>
}

/** Monday 00:00 UTC of the week holding `t`. */
export const weekOf = (t: number): number => {
  const day = Math.floor(t / DAY)
  // 1970-01-01 was a Thursday: shift so weeks start on Monday.
  return (day - ((day + 3) % 7)) * DAY
}

const PALETTE = ["#2f6b3a", "#c98a1b", "#3a5bd9", "#a23b72", "#7a3b1d"]

/**
 * Weekly consent rate (grants / all decisions of the week) of one purpose, one series per notice
 * version, over the weeks from `from` to `to`.
 */
export const weeklyRates = (
  rows: ReadonlyArray<ConsentStore.RateRow>,
  purpose: string,
  from: number,
  to: number,
): Array<Series> => {
  const versions = [...new Set(rows.filter((r) => r.purpose === purpose).map((r) => r.noticeVersion))].sort()
  const weeks: Array<number> = []
  for (let w = weekOf(from); w <= to; w += WEEK) weeks.push(w)
  return versions.map((version, i) => {
    const grants = new Map<number, number>()
    const totals = new Map<number, number>()
    for (const r of rows) {
      if (r.purpose !== purpose || r.noticeVersion !== version) continue
      const w = weekOf(Date.parse(`${r.day}T00:00:00Z`))
      totals.set(w, (totals.get(w) ?? 0) + r.count)
      if (r.action === "grant") grants.set(w, (grants.get(w) ?? 0) + r.count)
    }
    return {
      label: `v${version}`,
      colour: PALETTE[i % PALETTE.length]!,
      points: weeks.map((week) => {
        const total = totals.get(week) ?? 0
        return { week, decisions: total, rate: total > 0 ? (grants.get(week) ?? 0) / total : null }
      }),
    }
  })
}

const month = (t: number, locale: string) =>
  new Date(t).toLocaleDateString(locale === "th" ? "th-TH" : "en-GB", { month: "short", timeZone: "UTC" })

/** A line chart of weekly rates (0–100 %), with month ticks, gridlines and a legend. */
export const rateChart = (options: {
  readonly id: string
  readonly title: string
  readonly series: ReadonlyArray<Series>
  readonly locale: string
  readonly width?: number
  readonly height?: number
}): Html => {
  const width = options.width ?? 460
  const height = options.height ?? 200
  const pad = { left: 38, right: 12, top: 14, bottom: 28 }
  const weeks = options.series[0]?.points.map((p) => p.week) ?? []
  const first = weeks[0] ?? 0
  const last = weeks[weeks.length - 1] ?? 1
  const x = (week: number) =>
    pad.left + ((week - first) / Math.max(1, last - first)) * (width - pad.left - pad.right)
  const y = (rate: number) => pad.top + (1 - rate) * (height - pad.top - pad.bottom)
  const parts: Array<string> = []
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e4ddcb"/>`,
      `<text x="${pad.left - 6}" y="${y(tick) + 4}" text-anchor="end" font-size="10" fill="#5b665b">${tick * 100}%</text>`,
    )
  }
  let lastMonth = ""
  for (const week of weeks) {
    const label = month(week, options.locale)
    if (label === lastMonth) continue
    lastMonth = label
    parts.push(
      `<text x="${x(week)}" y="${height - 8}" text-anchor="middle" font-size="10" fill="#5b665b">${escapeHtml(label)}</text>`,
    )
  }
  options.series.forEach((s, i) => {
    // A break in the line where a week had no decisions under that version.
    let d = ""
    let pen = false
    for (const p of s.points) {
      if (p.rate === null) {
        pen = false
        continue
      }
      d += `${pen ? "L" : "M"}${x(p.week).toFixed(1)},${y(p.rate).toFixed(1)}`
      pen = true
    }
    parts.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2"/>`)
    parts.push(
      `<rect x="${pad.left + 8 + i * 56}" y="2" width="10" height="10" fill="${s.colour}"/>`,
      `<text x="${pad.left + 22 + i * 56}" y="11" font-size="10" fill="#1f2a1f">${escapeHtml(s.label)}</text>`,
    )
  })
  return raw(
    `<svg id="${escapeHtml(options.id)}" class="chart" role="img" aria-labelledby="${escapeHtml(options.id)}-title" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMidYMid meet"><title id="${escapeHtml(options.id)}-title">${escapeHtml(options.title)}</title>${parts.join("")}</svg>`,
  )
}

/** Horizontal bars with labels and values (e.g. customers who allow each purpose now). */
export const barChart = (options: {
  readonly id: string
  readonly title: string
  readonly bars: ReadonlyArray<{ readonly label: string; readonly value: number; readonly of?: number }>
  readonly width?: number
}): Html => {
  const width = options.width ?? 460
  const row = 26
  const height = options.bars.length * row + 8
  const labelWidth = 170
  const max = Math.max(1, ...options.bars.map((b) => b.of ?? b.value))
  const parts = options.bars.map((b, i) => {
    const w = ((width - labelWidth - 80) * b.value) / max
    const share = b.of ? ` (${Math.round((100 * b.value) / Math.max(1, b.of))}%)` : ""
    return `<text x="0" y="${i * row + 17}" font-size="12" fill="#1f2a1f">${escapeHtml(b.label)}</text><rect x="${labelWidth}" y="${i * row + 5}" width="${w.toFixed(1)}" height="16" rx="3" fill="#2f6b3a"/><text x="${labelWidth + w + 6}" y="${i * row + 17}" font-size="11" fill="#5b665b">${b.value.toLocaleString("en")}${share}</text>`
  })
  return raw(
    `<svg id="${escapeHtml(options.id)}" class="chart" role="img" aria-labelledby="${escapeHtml(options.id)}-title" viewBox="0 0 ${width} ${height}" width="100%"><title id="${escapeHtml(options.id)}-title">${escapeHtml(options.title)}</title>${parts.join("")}</svg>`,
  )
}
