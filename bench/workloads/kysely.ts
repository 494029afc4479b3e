/**
 * The same Kysely queries over three dialects: sqlaio's (worker threads, Arrow batches in shared
 * memory), Kysely's own SqliteDialect (better-sqlite3 on the main thread) and kysely-generic-sqlite
 * (better-sqlite3 in a worker, rows by structured clone).
 */
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { GenericSqliteWorkerDialect } from 'kysely-generic-sqlite/worker'
import { createNodeWorkerExecutor } from 'kysely-generic-sqlite/worker-helper-node'
import { SqlaioDialect } from '../../src/integrations/kysely.js'
import { label, openEngine, type SqlaioPath, sqlaioPaths } from '../clients/sqlaio.js'
import { type ContenderEntry, held, over, type RunOutput } from '../contender.js'
import { prng } from '../data.js'

interface RefDatabase {
  ref: { id: number; a: number; b: number; c: string; d: string | null; e: Uint8Array }
}

type Db = Kysely<RefDatabase>
type Run = (db: Db) => Promise<RunOutput>

export const KYSELY_BASELINES = ['kysely SqliteDialect (main thread)', 'kysely-generic-sqlite (worker)']

/** The whole reference table through the query builder. */
export const kyselyScan: Run = async (db) =>
  held(await db.selectFrom('ref').select(['id', 'a', 'b', 'c', 'd', 'e']).execute())

/** `calls` lookups by primary key, awaited one after another and timed call by call. */
export function kyselyPoint(rows: number, calls: number): Run {
  const random = prng(calls)
  const ids = Array.from({ length: calls }, () => 1 + Math.floor(random() * rows))
  return async (db) => {
    const latenciesUs: number[] = []
    let found = 0
    for (const id of ids) {
      const start = performance.now()
      found += (await db.selectFrom('ref').selectAll().where('id', '=', id).execute()).length
      latenciesUs.push((performance.now() - start) * 1000)
    }
    return { rows: found, latenciesUs }
  }
}

/** sqlaio's dialect over an engine on one path, reading with `run`. */
function sqlaioContender(name: string, path: string, via: SqlaioPath, run: Run): ContenderEntry {
  return over(
    name,
    async () => {
      const engine = await openEngine(path, via)
      return { engine, db: new Kysely<RefDatabase>({ dialect: new SqlaioDialect({ engine }) }) }
    },
    ({ db }) => run(db),
    async ({ engine, db }) => {
      await db.destroy()
      await engine.dispose()
    },
  )
}

/** The scan again, row by row through `.stream()`, holding nothing. */
const streamScan: Run = async (db) => {
  let rows = 0
  for await (const _ of db.selectFrom('ref').select(['id', 'a', 'b', 'c', 'd', 'e']).stream(1000)) rows++
  return { rows }
}

/** Every dialect running `run`; with `withStream`, sqlaio's `.stream()` read as well. */
export function kyselyContenders(path: string, run: Run, withStream: boolean): ContenderEntry[] {
  return [
    ...sqlaioPaths().flatMap((via) => [
      sqlaioContender(label(via, 'kysely dialect'), path, via, run),
      ...(withStream ? [sqlaioContender(label(via, 'kysely dialect .stream()'), path, via, streamScan)] : []),
    ]),
    over(
      KYSELY_BASELINES[0]!,
      () =>
        new Kysely<RefDatabase>({
          dialect: new SqliteDialect({ database: new Database(path, { readonly: true }) }),
        }),
      run,
      (db) => db.destroy(),
    ),
    over(
      KYSELY_BASELINES[1]!,
      () =>
        new Kysely<RefDatabase>({
          dialect: new GenericSqliteWorkerDialect(
            createNodeWorkerExecutor({
              worker: new Worker(new URL('../clients/kysely-generic-worker.js', import.meta.url)),
              data: { fileName: path },
            }),
          ),
        }),
      run,
      (db) => db.destroy(),
    ),
  ]
}
