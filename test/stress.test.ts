/**
 * A short run of the stress suite (test/stress/run.ts; `npm run stress` runs the long one):
 * concurrent tasks doing random operations with aborts and worker crashes, then the database
 * compared with the model. Seeded: SQLAIO_STRESS_SEED replays a run.
 *
 * It runs on the path SQLAIO_NATIVE selects (npm test runs the suite once per path). The patterns
 * that exposed three bugs, since fixed (`--known-bugs`: aborted writes inside transactions, aborted
 * engine.transaction calls, busy retries) stay for `npm run stress -- --known-bugs`.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatReport, parseArgs, passed, runStress } from './stress/run.js'

test('stress: concurrent random operations, aborts and crashes leave the database equal to the model', async () => {
  const options = { ...parseArgs([], process.env), timeLimitMs: 12_000, maxOps: 3000 }
  const report = await runStress(options)
  const figures = formatReport(report, options)
  console.log(figures)
  assert.ok(passed(report), figures)
  assert.equal(report.mismatches, 0)
  assert.equal(report.unexpectedErrors, 0)
  // The run exercised what it claims to.
  assert.ok(report.operations >= 200, figures)
  assert.ok(report.transactionsCommitted > 0 && report.transactionsRolledBack > 0, figures)
  assert.ok(report.savepointsReleased > 0 && report.savepointsRolledBack > 0, figures)
  assert.ok(report.abortErrors > 0, figures)
  assert.ok(report.crashesInjected > 0 && report.crashRejections > 0, figures)
  assert.ok(report.rowsCompared > 0, figures)
})
