/**
 * Several connections working at once. Scans: k full scans started together, each on its own
 * connection (or thread), against better-sqlite3 doing the k scans one after another. Point
 * lookups: k clients, each awaiting its share of the lookups one after another on its own
 * connection (the pools take every client's calls and spread them over their k threads), timed
 * call by call; throughput is all the lookups over the run's wall time.
 */
import Database from 'better-sqlite3'
import type { Connection, Engine } from '../../src/index.js'
import { ASYNC_BASELINES } from '../clients/baselines.js'
import { label, openEngine, READS, type SqlaioPath, sqlaioPaths } from '../clients/sqlaio.js'
import { type ContenderEntry, held, over, type RunOutput } from '../contender.js'
import { type LatencyQuery, timeCalls } from './latency.js'
import { SCAN_SQL } from './scan.js'

export const CONCURRENT_BASELINES = ['better-sqlite3 .all()', 'worker + postMessage']
export const CONCURRENT_POINT_BASELINES = ['worker + postMessage', 'piscina']

/** Sums the rows of k runs, gathers their latencies and keeps every result referenced. */
async function all(runs: Promise<RunOutput>[]): Promise<RunOutput> {
  const outputs = await Promise.all(runs)
  const rows = outputs.reduce((sum, out) => sum + out.rows, 0)
  const latencies = outputs.flatMap((out) => out.latenciesUs ?? [])
  return latencies.length > 0
    ? { rows, latenciesUs: latencies, retained: outputs }
    : { rows, retained: outputs }
}

const times = (k: number) => Array.from({ length: k }, (_, i) => i)

/** sqlaio with k connections of one engine (its pool sized for them), each run reading with `run`. */
function sqlaioConnections(
  name: string,
  path: string,
  via: SqlaioPath,
  k: number,
  run: (conns: Connection[]) => Promise<RunOutput>,
): ContenderEntry {
  return over(
    name,
    async (): Promise<{ engine: Engine; conns: Connection[] }> => {
      const engine = await openEngine(path, via, true, { poolSize: k })
      return { engine, conns: await Promise.all(times(k).map(() => engine.connect())) }
    },
    ({ conns }) => run(conns),
    async ({ engine, conns }) => {
      await Promise.all(conns.map((conn) => conn.close()))
      await engine.dispose()
    },
  )
}

export function concurrentContenders(path: string, k: number): ContenderEntry[] {
  const sqlaio = sqlaioPaths().flatMap((via) =>
    (['toArrow()', 'fetchall()'] as const).map((what) =>
      sqlaioConnections(label(via, what), path, via, k, (conns) =>
        all(conns.map((conn) => READS[what]!(conn, SCAN_SQL))),
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

/** `query`'s calls dealt out to k clients, each with its share. */
function shares(query: LatencyQuery, k: number): LatencyQuery[] {
  return times(k).map((i) => ({ sql: query.sql, params: query.params.filter((_, call) => call % k === i) }))
}

/** The lookups of `query` by k clients at once, each client's calls one after another. */
export function concurrentPointContenders(path: string, query: LatencyQuery, k: number): ContenderEntry[] {
  const clients = shares(query, k)
  const fetch = (db: Pick<Connection, 'execute'>) => async (params: unknown[]) =>
    (await db.execute(query.sql, params)).fetchall()
  return [
    ...sqlaioPaths().map((via) =>
      sqlaioConnections(label(via, 'connections'), path, via, k, (conns) =>
        all(conns.map((conn, i) => timeCalls(clients[i]!, fetch(conn)))),
      ),
    ),
    over(
      'better-sqlite3 .all()',
      () => new Database(path, { readonly: true }).prepare(query.sql),
      (statement) => all(clients.map((client) => timeCalls(client, (params) => statement.all(...params)))),
      (statement) => void statement.database.close(),
    ),
    ...ASYNC_BASELINES.map((baseline) =>
      over(
        baseline.name,
        () => baseline.open(path, k),
        (executor) =>
          all(clients.map((client) => timeCalls(client, (params) => executor.all(query.sql, params)))),
        (executor) => executor.close(),
      ),
    ),
  ]
}
