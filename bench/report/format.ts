/** Number formatting shared by the Markdown table, the chart and the budget lines. */
import type { Summary } from '../stats.js'

/** Three significant figures or so, without exponent notation. */
export function num(value: number): string {
  const magnitude = Math.abs(value)
  if (magnitude >= 100) return Math.round(value).toLocaleString('en-US')
  if (magnitude >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

/** `median (min–max)`. */
export function range(summary: Summary, unit = ''): string {
  return `${num(summary.median)}${unit} (${num(summary.min)}–${num(summary.max)})`
}
