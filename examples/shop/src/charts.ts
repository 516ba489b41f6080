/**
 * The dashboard's charts as inline SVG, drawn on the server (no chart library): monthly consent
 * rates per purpose and notice version, and bars for counts. Each chart is an image whose title is
 * its text alternative; every point carries its figures in a tooltip.
 */
import type { ConsentStore } from "@consentkit/core"
import { escapeHtml, type Html, raw } from "./html.js"

/** One line of a chart: a value (0..1) per month, null where there were no decisions. */
export interface Series {
  readonly label: string
  readonly colour: string
  readonly points: ReadonlyArray<{
    readonly month: number
    readonly rate: number | null
    readonly decisions: number
  }>
}

/** The first instant (UTC) of the month holding `t`. */
export const monthOf = (t: number): number => {
  const d = new Date(t)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
}

const nextMonth = (t: number): number => {
  const d = new Date(t)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
}

const PALETTE = ["#2f6b3a", "#c98a1b", "#3a5bd9", "#a23b72", "#7a3b1d"]

/** Months with fewer decisions than this under a version are left out of its line (too few to mean much). */
export const MIN_DECISIONS = 10

/**
 * Monthly consent rate (grants / all decisions of the month) of one purpose, one series per notice
 * version, over the months from `from` to `to`.
 */
export const monthlyRates = (
  rows: ReadonlyArray<ConsentStore.RateRow>,
  purpose: string,
  from: number,
  to: number,
): Array<Series> => {
  const versions = [...new Set(rows.filter((r) => r.purpose === purpose).map((r) => r.noticeVersion))].sort()
  const months: Array<number> = []
  for (let m = monthOf(from); m <= to; m = nextMonth(m)) months.push(m)
  return versions.map((version, i) => {
    const grants = new Map<number, number>()
    const totals = new Map<number, number>()
    for (const r of rows) {
      if (r.purpose !== purpose || r.noticeVersion !== version) continue
      const m = monthOf(Date.parse(`${r.day}T00:00:00Z`))
      totals.set(m, (totals.get(m) ?? 0) + r.count)
      if (r.action === "grant") grants.set(m, (grants.get(m) ?? 0) + r.count)
    }
    return {
      label: `v${version}`,
      colour: PALETTE[i % PALETTE.length]!,
      points: months.map((month) => {
        const total = totals.get(month) ?? 0
        return {
          month,
          decisions: total,
          rate: total >= MIN_DECISIONS ? (grants.get(month) ?? 0) / total : null,
        }
      }),
    }
  })
}

const monthName = (t: number, locale: string) =>
  new Date(t).toLocaleDateString(locale === "th" ? "th-TH" : "en-GB", { month: "short", timeZone: "UTC" })

/** A line chart of monthly rates (0–100 %), with month ticks, gridlines, dots and a legend. */
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
  const pad = { left: 38, right: 14, top: 18, bottom: 28 }
  const months = options.series[0]?.points.map((p) => p.month) ?? []
  const first = months[0] ?? 0
  const last = months[months.length - 1] ?? 1
  const x = (month: number) =>
    pad.left + ((month - first) / Math.max(1, last - first)) * (width - pad.left - pad.right)
  const y = (rate: number) => pad.top + (1 - rate) * (height - pad.top - pad.bottom)
  const parts: Array<string> = []
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e4ddcb"/>`,
      `<text x="${pad.left - 6}" y="${y(tick) + 4}" text-anchor="end" font-size="10" fill="#5b665b">${tick * 100}%</text>`,
    )
  }
  for (const m of months) {
    parts.push(
      `<text x="${x(m)}" y="${height - 8}" text-anchor="middle" font-size="10" fill="#5b665b">${escapeHtml(monthName(m, options.locale))}</text>`,
    )
  }
  options.series.forEach((s, i) => {
    // A break in the line where a month had no decisions under that version.
    let d = ""
    let pen = false
    for (const p of s.points) {
      if (p.rate === null) {
        pen = false
        continue
      }
      const px = x(p.month).toFixed(1)
      const py = y(p.rate).toFixed(1)
      d += `${pen ? "L" : "M"}${px},${py}`
      parts.push(
        `<circle cx="${px}" cy="${py}" r="2.5" fill="${s.colour}"><title>${escapeHtml(`${s.label} ${monthName(p.month, options.locale)}: ${Math.round(p.rate * 100)}% of ${p.decisions}`)}</title></circle>`,
      )
      pen = true
    }
    parts.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2"/>`)
    parts.push(
      `<rect x="${pad.left + 8 + i * 56}" y="3" width="10" height="10" fill="${s.colour}"/>`,
      `<text x="${pad.left + 22 + i * 56}" y="12" font-size="10" fill="#1f2a1f">${escapeHtml(s.label)}</text>`,
    )
  })
  const id = escapeHtml(options.id)
  return raw(
    `<svg id="${id}" class="chart" role="img" aria-labelledby="${id}-title" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMidYMid meet"><title id="${id}-title">${escapeHtml(options.title)}</title>${parts.join("")}</svg>`,
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
  const id = escapeHtml(options.id)
  return raw(
    `<svg id="${id}" class="chart" role="img" aria-labelledby="${id}-title" viewBox="0 0 ${width} ${height}" width="100%"><title id="${id}-title">${escapeHtml(options.title)}</title>${parts.join("")}</svg>`,
  )
}
