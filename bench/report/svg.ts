/**
 * The chart: wall time and longest main-thread stall per contender of one case, as horizontal
 * bars on a log scale (the figures span four orders of magnitude). Plain SVG, no dependency.
 */
import type { CaseSummary } from './summary.js'

const WIDTH = 880
const LABEL = 230
const RIGHT = 90
const TOP = 56
const ROW = 34
const BAR = 12
const AXIS = 36
const COLORS = { wall: '#4e79a7', stall: '#e15759' }
/** The budget for the longest main-thread stall a query may cause. */
const STALL_BUDGET_MS = 20

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function ms(value: number): string {
  if (value >= 1000) return `${Number((value / 1000).toPrecision(3))} s`
  return `${Number(value.toPrecision(value < 1 ? 2 : 3))} ms`
}

/** A log-scale axis spanning whole decades around `values` (all > 0). */
function logScale(values: number[], x0: number, x1: number) {
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)))
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)))
  const span = Math.max(1, Math.log10(hi / lo))
  const x = (value: number) => x0 + ((x1 - x0) * Math.log10(value / lo)) / span
  const ticks: number[] = []
  for (let tick = lo; tick <= hi * 1.0001; tick *= 10) ticks.push(tick)
  return { x, ticks }
}

export function chart(summary: CaseSummary): string {
  const rows = summary.contenders.map((c) => ({
    name: c.name,
    wall: Math.max(c.wallMs.median, 0.01),
    stall: Math.max(c.stallMs.median, 0.01),
  }))
  const height = TOP + rows.length * ROW + AXIS
  const plotEnd = WIDTH - RIGHT
  const scale = logScale([...rows.flatMap((r) => [r.wall, r.stall]), STALL_BUDGET_MS], LABEL, plotEnd)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600">${xml(summary.title)}: wall time and longest main-thread stall</text>`,
    `<text x="12" y="40" fill="#555">median of ${summary.rounds} rounds, log scale; shorter is better</text>`,
  ]
  for (const [i, [key, label]] of [
    ['wall', 'wall time'],
    ['stall', 'longest stall'],
  ].entries()) {
    const x = plotEnd - 150 + i * 85
    out.push(
      `<rect x="${x}" y="30" width="10" height="10" fill="${COLORS[key as keyof typeof COLORS]}"/>`,
      `<text x="${x + 14}" y="39">${label}</text>`,
    )
  }
  const bottom = TOP + rows.length * ROW
  for (const tick of scale.ticks) {
    const x = scale.x(tick).toFixed(1)
    out.push(
      `<line x1="${x}" y1="${TOP - 4}" x2="${x}" y2="${bottom}" stroke="#ddd"/>`,
      `<text x="${x}" y="${bottom + 16}" text-anchor="middle" fill="#555">${ms(tick)}</text>`,
    )
  }
  const budget = scale.x(STALL_BUDGET_MS).toFixed(1)
  out.push(
    `<line x1="${budget}" y1="${TOP - 4}" x2="${budget}" y2="${bottom}" stroke="${COLORS.stall}" stroke-dasharray="4 3"/>`,
    `<text x="${budget}" y="${TOP - 8}" text-anchor="middle" font-size="10" fill="${COLORS.stall}">stall budget ${STALL_BUDGET_MS} ms</text>`,
  )
  rows.forEach((row, i) => {
    const y = TOP + i * ROW
    out.push(`<text x="${LABEL - 8}" y="${y + BAR + 5}" text-anchor="end">${xml(row.name)}</text>`)
    for (const [j, key] of (['wall', 'stall'] as const).entries()) {
      const value = row[key]
      const end = scale.x(value)
      const top = y + 2 + j * (BAR + 2)
      out.push(
        `<rect x="${LABEL}" y="${top}" width="${Math.max(1, end - LABEL).toFixed(1)}" height="${BAR}" fill="${COLORS[key]}"/>`,
        `<text x="${(end + 4).toFixed(1)}" y="${top + BAR - 2}" font-size="10" fill="#333">${ms(value)}</text>`,
      )
    }
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
