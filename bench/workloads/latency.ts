/**
 * Round-trip latency: many small queries awaited one after another on one connection, timed
 * call by call.
 */
import { performance } from 'node:perf_hooks'
import Database from 'better-sqlite3'
import { ASYNC_BASELINES } from '../clients/baselines.js'
import { label, openEngine, sqlaioPaths } from '../clients/sqlaio.js'
import { type ContenderEntry, over, type RunOutput } from '../contender.js'
import { prng } from '../data.js'

export const LATENCY_BASELINES = ['worker + postMessage']

export interface LatencyQuery {
  sql: string
  /** The parameters of each call (the same sequence for every contender). */
  params: unknown[][]
}

export function latencyQuery(query: 'select1' | 'point', rows: number, calls: number): LatencyQuery {
  if (query === 'select1') return { sql: 'SELECT 1', params: Array.from({ length: calls }, () => []) }
  const random = prng(calls)
  return {
    sql: 'SELECT id, a, b, c, d, e FROM ref WHERE id = ?',
    params: Array.from({ length: calls }, () => [1 + Math.floor(random() * rows)]),
  }
}

/** Times `call` once per parameter set, sequentially. */
export async function timeCalls(
  query: LatencyQuery,
  call: (params: unknown[]) => Promise<unknown[]> | unknown[],
): Promise<RunOutput> {
  const latenciesUs: number[] = []
  let rows = 0
  for (const params of query.params) {
    const start = performance.now()
    rows += (await call(params)).length
    latenciesUs.push((performance.now() - start) * 1000)
  }
  return { rows, latenciesUs }
}

export function latencyContenders(path: string, query: LatencyQuery): ContenderEntry[] {
  return [
    ...sqlaioPaths().map((via) =>
      over(
        label(via, 'connection'),
        async () => {
          const engine = await openEngine(path, via)
          return { engine, conn: await engine.connect() }
        },
        ({ conn }) => timeCalls(query, async (params) => (await conn.execute(query.sql, params)).fetchall()),
        async ({ engine, conn }) => {
          await conn.close()
          await engine.dispose()
        },
      ),
    ),
    over(
      'better-sqlite3 .all()',
      () => new Database(path, { readonly: true }).prepare(query.sql),
      (statement) => timeCalls(query, (params) => statement.all(...params)),
      (statement) => void statement.database.close(),
    ),
    ...ASYNC_BASELINES.map((baseline) =>
      over(
        baseline.name,
        () => baseline.open(path, 1),
        (executor) => timeCalls(query, (params) => executor.all(query.sql, params)),
        (executor) => executor.close(),
      ),
    ),
  ]
}
