/**
 * The Markdown report: how the run was made, the budget verdicts, and one table per case.
 */
import type { Verdict } from '../budgets.js'
import type { BenchResult, Failure } from '../result.js'
import type { Summary } from '../stats.js'
import { num, range } from './format.js'
import type { CaseSummary, ContenderSummary } from './summary.js'

interface Column {
  head: string
  cell: (c: ContenderSummary) => string
}

const median = (summary: Summary | undefined) => (summary ? num(summary.median) : '–')

function columns(summary: CaseSummary): Column[] {
  const cols: Column[] = [
    { head: 'contender', cell: (c) => c.name },
    { head: 'wall ms', cell: (c) => range(c.wallMs) },
  ]
  const latencies = summary.kind === 'latency' || summary.kind === 'concurrent-point'
  if (latencies) {
    cols.push(
      { head: 'p50 µs', cell: (c) => median(c.p50Us) },
      { head: 'p99 µs', cell: (c) => median(c.p99Us) },
    )
  }
  if (summary.kind === 'concurrent' || summary.kind === 'stream') {
    cols.push({ head: 'M rows/s', cell: (c) => num(c.rowsPerSec.median / 1e6) })
  }
  if (summary.kind === 'concurrent-point') {
    cols.push({ head: 'lookups/s', cell: (c) => num(c.rowsPerSec.median) })
  }
  const versus = (head: string, pick: (c: ContenderSummary) => Summary | undefined) =>
    cols.push({
      head,
      cell: (c) => {
        const ratio = pick(c)
        return ratio ? range(ratio) : 'baseline'
      },
    })
  for (const baseline of summary.baselines) {
    versus(`× ${baseline}`, (c) => c.ratios[baseline])
    if (latencies) versus(`p50 × ${baseline}`, (c) => c.p50Ratios[baseline])
  }
  cols.push(
    { head: 'main busy ms', cell: (c) => median(c.busyMs) },
    { head: 'longest stall ms', cell: (c) => median(c.stallMs) },
    { head: 'ELD p99 ms', cell: (c) => median(c.eldP99Ms) },
    { head: 'peak RSS MB', cell: (c) => (c.peakRssMb === undefined ? '–' : num(c.peakRssMb)) },
  )
  return cols
}

/** A table with padded columns, as the project's formatter (biome) writes Markdown tables. */
export function table(heads: string[], rows: string[][]): string {
  const widths = heads.map((head, i) => Math.max(head.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
  return [line(heads), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n')
}

export function caseTable(summary: CaseSummary): string {
  const cols = columns(summary)
  return table(
    cols.map((col) => col.head),
    summary.contenders.map((c) => cols.map((col) => col.cell(c))),
  )
}

export function verdictTable(verdicts: Verdict[]): string {
  const mark = (met: boolean | null) => (met === null ? 'not measured' : met ? '**met**' : '**not met**')
  return table(
    ['budget', 'contender', 'figure', 'verdict'],
    verdicts.map((v) => [v.budget, v.contender, v.figure, mark(v.met)]),
  )
}

function failure(f: Failure): string {
  const where = f.contender ? `${f.caseId}, ${f.contender} (isolated run)` : f.caseId
  return `- ${where}: \`${f.error.split('\n')[0]}\``
}

export function markdown(bench: BenchResult, summaries: CaseSummary[], verdicts: Verdict[]): string {
  const m = bench.machine
  const parts = [
    `Made by \`${bench.command}\` on ${bench.date.slice(0, 16).replace('T', ' ')} UTC: Node ${m.node}, ${m.cpu}, ` +
      `${m.cores} cores, ${m.memoryGiB} GiB; sqlaio native path ${m.sqlaioNative ? 'available' : 'not available'}; ` +
      `load average ${m.loadAverage.map((load) => load.toFixed(1)).join(' → ')} (a shared machine: read stalls ` +
      'with that in mind).',
    'Each case ran in a fresh process: warm-up, then rounds in which the contenders take turns (the order ' +
      'rotates each round). Figures are the median over the rounds with (min–max); ratios (of wall time, ' +
      'or with _p50_ of median call latency) are taken round by round against the baseline run in the ' +
      'same round. _Main busy_ is main-thread event-loop ' +
      'active time, _longest stall_ the longest gap between ticks of a 1 ms interval, _ELD p99_ the event-' +
      'loop delay 99th percentile. _Peak RSS_ is above idle, from one cold run of the contender alone in a ' +
      'fresh process (worker threads included).',
    '### Budgets',
    verdictTable(verdicts),
  ]
  for (const summary of summaries) {
    const rounds = `${summary.rounds} rounds after ${summary.warmup} warm-up.`
    parts.push(`### ${summary.title}`, rounds, caseTable(summary))
  }
  if (bench.failures.length > 0) {
    parts.push('### Failures', bench.failures.map(failure).join('\n'))
  }
  return `${parts.join('\n\n')}\n`
}
