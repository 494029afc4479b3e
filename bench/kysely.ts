/**
 * `npm run bench:kysely` (`--quick` for one round): a Kysely select of 100k rows and Kysely point
 * lookups over sqlaio's dialect, Kysely's own SqliteDialect (better-sqlite3 on the main thread)
 * and kysely-generic-sqlite (better-sqlite3 in a worker, rows by structured clone). Each case runs
 * in a fresh process; the table shows the median of the rounds and their range, and is written
 * to bench/results/kysely.md with the raw figures in kysely.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { kyselyPlan } from './cases.js'
import { nativeAvailable } from './clients/sqlaio.js'
import { refDatabase } from './data.js'
import { range } from './report/format.js'
import type { CaseResult, RunRecord } from './result.js'
import { describeMachine, runCases } from './run-case.js'
import { summarize } from './stats.js'

const quick = process.argv.includes('--quick')
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url))

/** One Markdown table per case: a row per contender, medians (min–max) over the rounds. */
function table(result: CaseResult): string {
  const point = result.plan.spec.kind === 'kysely-point'
  const column = (runs: RunRecord[], pick: (run: RunRecord) => number, unit: string): string =>
    range(summarize(runs.map(pick)), unit)
  const header = point
    ? '| dialect | p50 latency | p99 latency | wall (all calls) |\n|---|---|---|---|'
    : '| dialect | wall | longest main-thread stall | main thread busy |\n|---|---|---|---|'
  const rows = result.contenders.map(({ name, runs }) =>
    point
      ? `| ${name} | ${column(runs, (r) => r.p50Us!, ' µs')} | ${column(runs, (r) => r.p99Us!, ' µs')} | ${column(runs, (r) => r.wallMs, ' ms')} |`
      : `| ${name} | ${column(runs, (r) => r.wallMs, ' ms')} | ${column(runs, (r) => r.stallMs, ' ms')} | ${column(runs, (r) => r.busyMs, ' ms')} |`,
  )
  return `### ${result.plan.title} (${result.contenders[0]?.runs.length} rounds)\n\n${header}\n${rows.join('\n')}\n`
}

const plans = kyselyPlan(quick)
const loadAtStart = loadavg()[0]!
refDatabase(100_000)
const results = await runCases(plans)
const machine = describeMachine(loadAtStart, `sqlaio native ${nativeAvailable() ? 'on' : 'off'}`)
const markdown = `## Kysely dialects (${new Date().toISOString().slice(0, 10)}, ${machine})\n\n${results.map(table).join('\n')}`
console.log(markdown)
if (!quick) {
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(`${RESULTS_DIR}kysely.md`, markdown)
  writeFileSync(`${RESULTS_DIR}kysely.json`, `${JSON.stringify({ machine, results }, null, 2)}\n`)
}
