/**
 * Fixtures shared by the reliability tests (cancellation, deadlines, crashes, leaks, stress):
 * a worker module with counters and misbehaving functions, and small SQL generators.
 */
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { tempDbPath } from '../helpers.js'
import { WORKER_FIXTURE } from './fixture.js'

export { nativeOn, rangeSql, sleep, slowScalarSql, WORKER_FIXTURE } from './fixture.js'

/** Writes an ES module next to a fresh temporary database path and returns its absolute path. */
export function writeTempModule(source: string, name = 'module.mjs'): string {
  const path = join(dirname(tempDbPath()), name)
  writeFileSync(path, source)
  return path
}

/** Writes {@link WORKER_FIXTURE} to a temporary file and returns its path. */
export function workerFixture(): string {
  return writeTempModule(WORKER_FIXTURE, 'fixture.mjs')
}
