/**
 * `npm run bench:pg` (`--quick` for fewer rounds): sqlaio over PostgreSQL against `pg` on the
 * main thread, `pg-cursor`, postgres.js and a worker running `pg`, on the server of
 * SQLAIO_PG_URL; then 16 concurrent callers over several connection counts against `pg.Pool`.
 * Each case runs in a fresh process; the tables show medians (min–max) over the rounds, then the
 * budgets met or not, written to bench/results/pg.md with the raw figures in pg.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { pgPlan } from './cases.js'
import { num, range } from './report/format.js'
import type { CaseResult, RunRecord } from './result.js'
import { describeMachine, runCases } from './run-case.js'
import { roundRatios, summarize } from './stats.js'
import { pgRefTable } from './workloads/pg.js'

const quick = process.argv.includes('--quick')
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url))

const column = (runs: RunRecord[], pick: (run: RunRecord) => number, unit: string): string =>
  range(summarize(runs.map(pick)), unit)

function table(result: CaseResult): string {
  const { spec } = result.plan
  const calls = result.rowsPerRun
  const [header, row] =
    spec.kind === 'pg-select1'
      ? [
          '| contender | p50 latency | p99 latency |\n|---|---|---|',
          (runs: RunRecord[]) =>
            `${column(runs, (r) => r.p50Us!, ' µs')} | ${column(runs, (r) => r.p99Us!, ' µs')}`,
        ]
      : spec.kind === 'pg-clients'
        ? [
            '| contender | calls/s | p50 latency | p99 latency | main thread busy | CPU, all threads |\n|---|---|---|---|---|---|',
            (runs: RunRecord[]) =>
              [
                column(runs, (r) => calls / (r.wallMs / 1000), ''),
                column(runs, (r) => r.p50Us!, ' µs'),
                column(runs, (r) => r.p99Us!, ' µs'),
                column(runs, (r) => r.busyMs, ' ms'),
                column(runs, (r) => r.cpuMs, ' ms'),
              ].join(' | '),
          ]
        : [
            '| contender | wall | longest main-thread stall | main thread busy | peak RSS |\n|---|---|---|---|---|',
            (runs: RunRecord[]) =>
              [
                column(runs, (r) => r.wallMs, ' ms'),
                column(runs, (r) => r.stallMs, ' ms'),
                column(runs, (r) => r.busyMs, ' ms'),
                column(runs, (r) => r.peakRssMb, ' MB'),
              ].join(' | '),
          ]
  const rows = result.contenders.map(({ name, runs }) => `| ${name} | ${row(runs)} |`)
  return `### ${result.plan.title} (${result.contenders[0]?.runs.length} rounds)\n\n${header}\n${rows.join('\n')}\n`
}

interface Verdict {
  budget: string
  figure: string
  met: boolean | null
}

function runsOf(results: CaseResult[], caseId: string, name: string): RunRecord[] | null {
  return results.find((r) => r.plan.id === caseId)?.contenders.find((c) => c.name === name)?.runs ?? null
}

/** The PostgreSQL budgets; ratios are taken round by round against `pg` query(). */
function verdicts(results: CaseResult[]): Verdict[] {
  const ratio = (
    caseId: string,
    name: string,
    pick: (r: RunRecord) => number,
    limit: number,
    budget: string,
  ) => {
    const ours = runsOf(results, caseId, name)
    const theirs = runsOf(results, caseId, 'pg query()')
    if (!ours || !theirs) return { budget, figure: 'not measured', met: null }
    const s = roundRatios(ours.map(pick), theirs.map(pick))
    return { budget, figure: `${num(s.median)} × (${num(s.min)}–${num(s.max)})`, met: s.median <= limit }
  }
  const stall = runsOf(results, 'pg-scan-1M', 'sqlaio toArrow()')
  const stallMs = stall ? summarize(stall.map((r) => r.stallMs)).median : null
  return [
    ratio(
      'pg-scan-1M',
      'sqlaio toArrow()',
      (r) => r.wallMs,
      0.25,
      'toArrow() of 1M rows ≤ 0.25 × pg query()',
    ),
    {
      budget: 'toArrow() of 1M rows, longest main-thread stall ≤ 20 ms',
      figure: stallMs === null ? 'not measured' : `${num(stallMs)} ms`,
      met: stallMs === null ? null : stallMs <= 20,
    },
    ratio(
      'pg-scan-1M',
      'sqlaio fetchall()',
      (r) => r.wallMs,
      0.8,
      'fetchall() of 1M rows ≤ 0.8 × pg query()',
    ),
    ratio(
      'pg-select1',
      'sqlaio connection',
      (r) => r.p50Us!,
      1.2,
      '`SELECT 1` round trip (p50) ≤ 1.2 × pg query()',
    ),
  ]
}

const loadAtStart = loadavg()[0]!
await pgRefTable(1_000_000)
const results = await runCases(pgPlan(quick))
const machine = describeMachine(loadAtStart)
const budgets = verdicts(results)
const budgetTable = `### Budgets\n\n| budget | figure | met |\n|---|---|---|\n${budgets
  .map((v) => `| ${v.budget} | ${v.figure} | ${v.met === null ? '—' : v.met ? 'met' : 'not met'} |`)
  .join('\n')}\n`
const markdown = `## PostgreSQL (${new Date().toISOString().slice(0, 10)}, ${machine})\n\n${results.map(table).join('\n')}\n${budgetTable}`
console.log(markdown)
if (!quick) {
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(`${RESULTS_DIR}pg.md`, markdown)
  writeFileSync(`${RESULTS_DIR}pg.json`, `${JSON.stringify({ machine, results, budgets }, null, 2)}\n`)
}
