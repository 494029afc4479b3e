/**
 * The pure parts of the bench harness, on fixed input: statistics, round-by-round ratios,
 * budget verdicts and the Markdown/SVG reports. No timing here: budgets live in bench/.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkBudgets } from '../bench/budgets.js'
import { markdown } from '../bench/report/markdown.js'
import { summarizeCase } from '../bench/report/summary.js'
import { chart } from '../bench/report/svg.js'
import type { BenchResult, CaseResult, RunRecord } from '../bench/result.js'
import { median, percentile, roundRatios } from '../bench/stats.js'

test('median and percentiles interpolate between closest ranks', () => {
  assert.equal(median([5, 1, 3]), 3)
  assert.equal(median([4, 1, 3, 2]), 2.5)
  assert.equal(percentile([1, 2, 3, 4, 5], 0), 1)
  assert.equal(percentile([1, 2, 3, 4, 5], 100), 5)
  assert.equal(percentile([0, 10], 99), 9.9)
  assert.throws(() => percentile([], 50), RangeError)
})

test('ratios are taken round by round, so a slow round cancels out', () => {
  // Round 2 is twice as slow for both sides; per-round ratios stay exactly 0.5.
  assert.deepEqual(roundRatios([1, 2, 1], [2, 4, 2]), { median: 0.5, min: 0.5, max: 0.5 })
  assert.throws(() => roundRatios([1], [1, 2]), RangeError)
})

const run = (wallMs: number, stallMs: number, extra: Partial<RunRecord> = {}): RunRecord => ({
  wallMs,
  busyMs: stallMs,
  cpuMs: stallMs,
  stallMs,
  eldP99Ms: 0,
  peakRssMb: 0,
  ...extra,
})

const scan: CaseResult = {
  plan: {
    id: 'scan-1M',
    title: 'Full scan, 1M rows',
    spec: { kind: 'scan', rows: 1e6 },
    warmup: 1,
    rounds: 3,
  },
  rowsPerRun: 1e6,
  baselines: ['better-sqlite3 .all()', 'worker + postMessage'],
  contenders: [
    {
      name: 'sqlaio toArrow()',
      runs: [run(300, 5), run(600, 9), run(330, 30)],
      isolated: run(400, 5, { peakRssMb: 80 }),
    },
    { name: 'sqlaio fetchall()', runs: [run(800, 10), run(1600, 12), run(900, 11)] },
    { name: 'better-sqlite3 .all()', runs: [run(1000, 1000), run(2000, 2000), run(1100, 1100)] },
    { name: 'worker + postMessage', runs: [run(2000, 500), run(4000, 900), run(2200, 600)] },
  ],
}

const bench: BenchResult = {
  date: '2026-11-25T09:00:00.000Z',
  command: 'npm run bench:quick',
  machine: {
    node: 'v20.20.2',
    cpu: 'Test CPU',
    cores: 2,
    memoryGiB: 24,
    sqlaioNative: false,
    loadAverage: [0.5, 1],
  },
  cases: [scan],
  failures: [{ caseId: 'insert-100k', error: 'Error: boom\n    at somewhere' }],
}

test('summaries give medians, min–max and per-round ratios against each baseline', () => {
  const summary = summarizeCase(scan)
  const toArrow = summary.contenders[0]!
  assert.deepEqual(toArrow.wallMs, { median: 330, min: 300, max: 600 })
  assert.deepEqual(toArrow.ratios['better-sqlite3 .all()'], { median: 0.3, min: 0.3, max: 0.3 })
  assert.equal(toArrow.peakRssMb, 80)
  const baseline = summary.contenders.find((c) => c.name === 'better-sqlite3 .all()')!
  assert.equal(baseline.ratios['better-sqlite3 .all()'], undefined)
})

test('budget verdicts: met, not met, and not measured when a case or contender is missing', () => {
  const verdicts = checkBudgets([summarizeCase(scan)])
  const find = (budget: string, contender: string) =>
    verdicts.find((v) => v.budget.startsWith(budget) && v.contender === contender)!
  assert.equal(find('toArrow() of 1M rows, wall', 'sqlaio toArrow()').met, true)
  assert.equal(find('toArrow() of 1M rows, longest', 'sqlaio toArrow()').figure, '9.00 ms (5.00–30.0)')
  assert.equal(find('fetchall() of 1M rows, wall ≤ 0.70', 'sqlaio fetchall()').met, false)
  assert.equal(find('fetchall() of 1M rows, wall ≤ 0.35', 'sqlaio fetchall()').met, false)
  assert.equal(find('toArrow() of 1M rows, wall', 'sqlaio native toArrow()').met, null)
  assert.match(find('`SELECT 1`', 'sqlaio connection').figure, /case latency-select1 not run/)
})

test('the Markdown report has the verdicts, one table per case, and the failures', () => {
  const summaries = [summarizeCase(scan)]
  const md = markdown(bench, summaries, checkBudgets(summaries))
  assert.match(md, /^Made by `npm run bench:quick` on 2026-11-25 09:00 UTC/)
  const caseTable = md
    .slice(md.indexOf('### Full scan'))
    .split('\n')
    .filter((line) => line.startsWith('|'))
  // Padded as biome formats Markdown tables: every line of a table is as wide as the others.
  assert.equal(new Set(caseTable.map((line) => line.length)).size, 1)
  const cells = (name: string) =>
    caseTable
      .find((line) => line.startsWith(`| ${name} `))!
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim())
  assert.deepEqual(cells('sqlaio toArrow()').slice(0, 4), [
    'sqlaio toArrow()',
    '330 (300–600)',
    '0.30 (0.30–0.30)',
    '0.15 (0.15–0.15)',
  ])
  assert.deepEqual(cells('better-sqlite3 .all()').slice(0, 3), [
    'better-sqlite3 .all()',
    '1,100 (1,000–2,000)',
    'baseline',
  ])
  assert.match(md, /- insert-100k: `Error: boom`/)
})

test('the chart draws two bars per contender on a log axis with decade ticks', () => {
  const svg = chart(summarizeCase(scan))
  assert.match(svg, /^<svg /)
  assert.equal((svg.match(/<rect x="230"/g) ?? []).length, 8)
  // Values span 9 ms to 2.2 s: ticks from 1 ms to 10 s.
  for (const tick of ['1 ms', '10 ms', '100 ms', '1 s', '10 s'])
    assert.ok(svg.includes(`>${tick}</text>`), tick)
  assert.ok(svg.includes('sqlaio toArrow()'))
})
