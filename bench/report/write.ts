/**
 * Writes a run's results under bench/results/ (dated JSON and Markdown, plus latest.md,
 * latest.json and latest.svg) and prints the budget verdicts.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkBudgets } from '../budgets.js'
import type { BenchResult } from '../result.js'
import { markdown } from './markdown.js'
import { summarizeCase } from './summary.js'
import { chart } from './svg.js'

/** bench/results/ in the source tree (this file runs from dist/bench/report/). */
export const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url))

/** The case the chart shows: the largest full scan that ran. */
const CHART_CASES = ['scan-1M', 'scan-100k', 'scan-1k']

export function writeReports(bench: BenchResult): void {
  const summaries = bench.cases.map(summarizeCase)
  const verdicts = checkBudgets(summaries)
  const md = markdown(bench, summaries, verdicts)
  const json = `${JSON.stringify(bench, null, 2)}\n`
  const stamp = `${bench.date.slice(0, 10)}${bench.command.endsWith(':quick') ? '-quick' : ''}`
  mkdirSync(RESULTS_DIR, { recursive: true })
  const write = (name: string, text: string) => writeFileSync(join(RESULTS_DIR, name), text)
  write(`${stamp}.json`, json)
  write(`${stamp}.md`, md)
  write('latest.json', json)
  write('latest.md', md)
  const charted = CHART_CASES.map((id) => summaries.find((s) => s.id === id)).find((s) => s !== undefined)
  if (charted) write('latest.svg', chart(charted))

  console.log('\nBudgets:')
  for (const v of verdicts) {
    const mark = v.met === null ? 'n/a    ' : v.met ? 'MET    ' : 'NOT MET'
    console.log(`  ${mark} ${v.budget} [${v.contender}]: ${v.figure}`)
  }
  console.log(`\nwrote ${RESULTS_DIR}${stamp}.{json,md} and latest.{json,md,svg}`)
}
