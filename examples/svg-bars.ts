/**
 * A horizontal bar chart as a standalone SVG document: enough to look at an aggregate without a
 * browser or a plotting library.
 */

/** One bar: its label and its value (non-negative). */
export interface Bar {
  label: string
  value: number
}

const escapeXml = (text: string): string =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!)

const format = (value: number): string =>
  Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2)

/** Renders `bars` as an SVG bar chart titled `title`, bar lengths proportional to the values. */
export function barChartSvg(title: string, bars: readonly Bar[]): string {
  const width = 560
  const left = 110
  const barHeight = 24
  const gap = 8
  const top = 40
  const plotWidth = width - left - 90
  const max = Math.max(...bars.map((b) => b.value), Number.MIN_VALUE)
  const height = top + bars.length * (barHeight + gap) + 10
  const rows = bars.map((bar, i) => {
    const y = top + i * (barHeight + gap)
    const length = Math.round((bar.value / max) * plotWidth)
    const textY = y + barHeight / 2 + 5
    return [
      `  <text x="${left - 8}" y="${textY}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `  <rect x="${left}" y="${y}" width="${length}" height="${barHeight}" fill="#4c78a8"/>`,
      `  <text x="${left + length + 6}" y="${textY}">${format(bar.value)}</text>`,
    ].join('\n')
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `  <text x="${left}" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...rows,
    '</svg>',
    '',
  ].join('\n')
}
