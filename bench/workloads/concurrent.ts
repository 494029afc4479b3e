/**
 * Throughput with several connections scanning at once: k full scans started together, each on
 * its own connection (or thread), against better-sqlite3 doing the k scans one after another.
 */
import Database from 'better-sqlite3'
import type { Connection, Engine } from '../../src/index.js'
import { ASYNC_BASELINES } from '../clients/baselines.js'
import { label, openEngine, READS, sqlaioPaths } from '../clients/sqlaio.js'
import { type ContenderEntry, held, over, type RunOutput } from '../contender.js'
import { SCAN_SQL } from './scan.js'

export const CONCURRENT_BASELINES = ['better-sqlite3 .all()', 'worker + postMessage']

/** Sums the rows of k runs and keeps every result referenced. */
async function all(runs: Promise<RunOutput>[]): Promise<RunOutput> {
  const outputs = await Promise.all(runs)
  return { rows: outputs.reduce((sum, out) => sum + out.rows, 0), retained: outputs }
}

const times = (k: number) => Array.from({ length: k }, (_, i) => i)

export function concurrentContenders(path: string, k: number): ContenderEntry[] {
  const sqlaio = sqlaioPaths().flatMap((via) =>
    (['toArrow()', 'fetchall()'] as const).map((what) =>
      over(
        label(via, what),
        async (): Promise<{ engine: Engine; conns: Connection[] }> => {
          const engine = await openEngine(path, via)
          return { engine, conns: await Promise.all(times(k).map(() => engine.connect())) }
        },
        ({ conns }) => all(conns.map((conn) => READS[what]!(conn, SCAN_SQL))),
        async ({ engine, conns }) => {
          await Promise.all(conns.map((conn) => conn.close()))
          await engine.dispose()
        },
      ),
    ),
  )
  return [
    ...sqlaio,
    over(
      'better-sqlite3 .all()',
      () => new Database(path, { readonly: true }).prepare(SCAN_SQL),
      (statement) => all(times(k).map(async () => held(statement.all()))),
      (statement) => void statement.database.close(),
    ),
    ...ASYNC_BASELINES.map((baseline) =>
      over(
        baseline.name,
        () => baseline.open(path, k),
        (executor) => all(times(k).map(async () => held(await executor.all(SCAN_SQL)))),
        (executor) => executor.close(),
      ),
    ),
  ]
}
