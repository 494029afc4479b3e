/**
 * Full scan of the reference table: every way sqlaio hands rows over, against better-sqlite3
 * on the main thread, the run-in-executor baselines and node-sqlite3.
 */
import Database from 'better-sqlite3'
import { ASYNC_BASELINES } from '../clients/baselines.js'
import { label, openEngine, READS, sqlaioPaths } from '../clients/sqlaio.js'
import { type ContenderEntry, held, over, type RunOutput } from '../contender.js'

export const SCAN_SQL = 'SELECT id, a, b, c, d, e FROM ref'

export const SCAN_BASELINES = ['better-sqlite3 .all()', 'worker + postMessage']

/** better-sqlite3 on the main thread, its statement prepared once. */
function sync(
  path: string,
  name: string,
  read: (statement: Database.Statement) => RunOutput,
): ContenderEntry {
  return over(
    `better-sqlite3 ${name}`,
    () => new Database(path, { readonly: true }).prepare(SCAN_SQL),
    read,
    (statement) => void statement.database.close(),
  )
}

export function scanContenders(path: string): ContenderEntry[] {
  return [
    ...sqlaioPaths().flatMap((via) =>
      Object.entries(READS).map(([what, read]) =>
        over(
          label(via, what),
          () => openEngine(path, via),
          (engine) => read(engine, SCAN_SQL),
          (engine) => engine.dispose(),
        ),
      ),
    ),
    sync(path, '.all()', (statement) => held(statement.all())),
    sync(path, '.raw().all()', (statement) => held(statement.raw().all())),
    sync(path, '.iterate()', (statement) => {
      let rows = 0
      for (const _row of statement.iterate()) rows++
      return { rows }
    }),
    ...ASYNC_BASELINES.map((baseline) =>
      over(
        baseline.name,
        () => baseline.open(path, 1),
        async (executor) => held(await executor.all(SCAN_SQL)),
        (executor) => executor.close(),
      ),
    ),
  ]
}
