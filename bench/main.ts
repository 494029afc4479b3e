/**
 * `npm run bench` / `npm run bench:quick`: runs every case in a fresh child process, then each
 * contender once more alone in a fresh process for its peak RSS, and writes the JSON results,
 * the Markdown table, the SVG chart, and the budget verdicts.
 */
import { cpus, loadavg, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'
import { type CasePlan, plan } from './cases.js'
import { nativeAvailable } from './clients/sqlaio.js'
import { refDatabase } from './data.js'
import { writeReports } from './report/write.js'
import type { BenchResult, CaseResult, Failure } from './result.js'
import { runCase } from './run-case.js'

const quick = process.argv.includes('--quick')

const failures: Failure[] = []

/**
 * Peak RSS is taken from a process that runs only that contender, once: in the shared process
 * memory freed by one contender is reused by the next, which hides part of its footprint.
 */
async function isolatePeakRss(casePlan: CasePlan, result: CaseResult): Promise<void> {
  for (const contender of result.contenders) {
    const alone = await runCase({ ...casePlan, only: [contender.name], warmup: 0, rounds: 1 })
    if ('error' in alone)
      failures.push({ caseId: casePlan.id, contender: contender.name, error: alone.error })
    else contender.isolated = alone.result.contenders[0]!.runs[0]!
  }
}

const started = performance.now()
const loadAtStart = loadavg()[0]!
for (const rows of new Set(plan(quick).map((c) => ('rows' in c.spec ? c.spec.rows : 0)))) {
  if (rows > 0) refDatabase(rows)
}
console.log(`reference data ready (${((performance.now() - started) / 1000).toFixed(1)} s)`)

const cases: CaseResult[] = []
for (const casePlan of plan(quick)) {
  const caseStart = performance.now()
  const reply = await runCase(casePlan)
  if ('error' in reply) {
    // A failing case is reported, not fatal: the other cases' figures are still worth having.
    failures.push({ caseId: casePlan.id, error: reply.error })
    console.log(`${casePlan.id}: FAILED\n${reply.error}`)
    continue
  }
  await isolatePeakRss(casePlan, reply.result)
  cases.push(reply.result)
  console.log(`${casePlan.id}: ${((performance.now() - caseStart) / 1000).toFixed(1)} s`)
}

const cpu = cpus()
const bench: BenchResult = {
  date: new Date().toISOString(),
  command: quick ? 'npm run bench:quick' : 'npm run bench',
  machine: {
    node: process.version,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    sqlaioNative: nativeAvailable(),
    loadAverage: [loadAtStart, loadavg()[0]!],
  },
  cases,
  failures,
}
writeReports(bench)
console.log(`bench done in ${((performance.now() - started) / 1000).toFixed(0)} s`)
