/**
 * PostgreSQL: the 1M-row reference table read by sqlaio (`toArrow()`, `fetchall()`) against
 * `pg` on the main thread (`query()`, and `pg-cursor` by 10k rows), postgres.js on the main
 * thread (a query, and its cursor by 10k rows) and a worker running `pg` that posts the rows
 * back; and the `SELECT 1` round trip against `pg`'s `query()` and postgres.js. The server is
 * SQLAIO_PG_URL (default the local one); the table is made once and kept (`sqlaio_bench_ref`).
 */
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import pg from 'pg'
import Cursor from 'pg-cursor'
import postgres from 'postgres'
import { createEngine } from '../../src/index.js'
import { READS } from '../clients/sqlaio.js'
import { type ContenderEntry, held, over, type RunOutput } from '../contender.js'

export const PG_URL = process.env.SQLAIO_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'
export const PG_TABLE = 'sqlaio_bench_ref'
export const PG_SCAN_SQL = `SELECT id, a, b, c, d, e FROM ${PG_TABLE}`
export const PG_BASELINES = ['pg query()']

/**
 * Makes the reference table of `rows` rows (int8 id, int4, float8, text, text 10% NULL, bytea
 * 16 B) unless it is already there with that many rows.
 */
export async function pgRefTable(rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    const exists = await client.query('SELECT to_regclass($1) AS t', [PG_TABLE])
    if (exists.rows[0].t !== null) {
      const count = await client.query(`SELECT count(*)::int AS n FROM ${PG_TABLE}`)
      if (count.rows[0].n === rows) return
      await client.query(`DROP TABLE ${PG_TABLE}`)
    }
    await client.query(
      `CREATE TABLE ${PG_TABLE} (id int8 PRIMARY KEY, a int4, b float8, c text, d text, e bytea)`,
    )
    // Deterministic values from the id alone: every run reads the same bytes.
    await client.query(
      `INSERT INTO ${PG_TABLE}
       SELECT g, ((g::int8 * 7919) % 1000000)::int4, g * 0.001, 'row ' || md5(g::text),
              CASE WHEN g % 10 = 0 THEN NULL ELSE substr(md5((g + 1)::text), 1, 12 + g % 20) END,
              decode(substr(md5((g + 2)::text), 1, 32), 'hex')
       FROM generate_series(1, $1::int) g`,
      [rows],
    )
    await client.query(`ANALYZE ${PG_TABLE}`)
  } finally {
    await client.end()
  }
}

async function pgClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  return client
}

/** postgres.js with one connection (its default prepares each statement once, by name). */
const postgresJs = (): postgres.Sql => postgres(PG_URL, { max: 1, onnotice: () => {} })

/** A worker running `pg`, answering each query with its rows (a structured clone). */
function pgWorker(): { all(sql: string): Promise<unknown[]>; close(): Promise<void> } {
  const worker = new Worker(new URL('../clients/pg-worker.js', import.meta.url), {
    workerData: { url: PG_URL },
  })
  let waiting: ((rows: unknown[]) => void) | null = null
  worker.on('message', (rows: unknown[]) => waiting?.(rows))
  return {
    all: (sql) =>
      new Promise((resolve) => {
        waiting = resolve
        worker.postMessage(sql)
      }),
    close: async () => void (await worker.terminate()),
  }
}

export function pgScanContenders(): ContenderEntry[] {
  const sqlaio = (what: 'toArrow()' | 'fetchall()'): ContenderEntry =>
    over(
      `sqlaio ${what}`,
      async () => {
        const engine = createEngine(PG_URL)
        await engine.scalar('SELECT 1')
        return engine
      },
      (engine) => READS[what]!(engine, PG_SCAN_SQL),
      (engine) => engine.dispose(),
    )
  return [
    sqlaio('toArrow()'),
    sqlaio('fetchall()'),
    over(
      'pg query()',
      pgClient,
      async (client) => held((await client.query(PG_SCAN_SQL)).rows),
      (client) => client.end(),
    ),
    over(
      'pg-cursor (10k rows a read)',
      pgClient,
      async (client) => {
        const cursor = client.query(new Cursor(PG_SCAN_SQL))
        const rows: unknown[] = []
        for (;;) {
          const chunk = await cursor.read(10_000)
          if (chunk.length === 0) break
          for (const row of chunk) rows.push(row)
        }
        await cursor.close()
        return held(rows)
      },
      (client) => client.end(),
    ),
    over(
      'postgres.js query',
      postgresJs,
      async (sql) => held(await sql.unsafe(PG_SCAN_SQL)),
      (sql) => sql.end(),
    ),
    over(
      'postgres.js cursor (10k rows a read)',
      postgresJs,
      async (sql) => {
        const rows: unknown[] = []
        for await (const chunk of sql.unsafe(PG_SCAN_SQL).cursor(10_000))
          for (const row of chunk) rows.push(row)
        return held(rows)
      },
      (sql) => sql.end(),
    ),
    over(
      'worker (pg) + postMessage',
      pgWorker,
      async (worker) => held(await worker.all(PG_SCAN_SQL)),
      (worker) => worker.close(),
    ),
  ]
}

/**
 * `clients` callers at once, each making `calls` calls one after another (`call(client, i)`);
 * the rows they read and every call's latency.
 */
async function timeCalls(
  clients: number,
  calls: number,
  call: (client: number, i: number) => PromiseLike<readonly unknown[]>,
): Promise<RunOutput> {
  const latenciesUs: number[] = []
  let rows = 0
  const caller = async (client: number): Promise<void> => {
    for (let i = 0; i < calls; i++) {
      const start = performance.now()
      // Not `rows += await …`: that would read `rows` before the await, losing the other callers' rows.
      const got = (await call(client, i)).length
      latenciesUs.push((performance.now() - start) * 1000)
      rows += got
    }
  }
  await Promise.all(Array.from({ length: clients }, (_, client) => caller(client)))
  return { rows, latenciesUs }
}

export function pgSelect1Contenders(calls: number): ContenderEntry[] {
  return [
    over(
      'sqlaio connection',
      async () => {
        const engine = createEngine(PG_URL)
        return { engine, conn: await engine.connect() }
      },
      ({ conn }) => timeCalls(1, calls, async () => (await conn.execute('SELECT 1')).fetchall()),
      async ({ engine, conn }) => {
        await conn.close()
        await engine.dispose()
      },
    ),
    over(
      'pg query()',
      pgClient,
      (client) => timeCalls(1, calls, async () => (await client.query('SELECT 1')).rows),
      (client) => client.end(),
    ),
    over(
      'postgres.js',
      postgresJs,
      (sql) => timeCalls(1, calls, () => sql`SELECT 1`),
      (sql) => sql.end(),
    ),
  ]
}

/** What the concurrent clients of `pgClientsContenders` run: `SELECT 1`, or a point lookup. */
export type PgClientsQuery = 'select1' | 'point'

/**
 * `clients` callers at once, each making `calls` calls in turn, through sqlaio over 1, 2, 4 and
 * `clients` connections (one worker thread each; caller k uses connection k mod n) and through a
 * `pg.Pool` of `clients` connections on the main thread. A point lookup reads one row of the
 * reference table of `rows` rows by primary key.
 */
export function pgClientsContenders(
  query: PgClientsQuery,
  clients: number,
  calls: number,
  rows: number,
): ContenderEntry[] {
  const sql = query === 'select1' ? 'SELECT 1' : `SELECT id, a, b, c, d, e FROM ${PG_TABLE} WHERE id = $1`
  // Ids spread over the table, the same every run.
  const params = (client: number, i: number): number[] =>
    query === 'select1' ? [] : [1 + (((client * calls + i) * 7919) % rows)]
  const sqlaio = (connections: number): ContenderEntry =>
    over(
      `sqlaio, ${connections} connection${connections === 1 ? '' : 's'}`,
      async () => {
        const engine = createEngine(PG_URL, { poolSize: connections })
        const conns = await Promise.all(Array.from({ length: connections }, () => engine.connect()))
        return { engine, conns }
      },
      ({ conns }) =>
        timeCalls(clients, calls, async (client, i) =>
          (await conns[client % conns.length]!.execute(sql, params(client, i))).fetchall(),
        ),
      async ({ engine, conns }) => {
        for (const conn of conns) await conn.close()
        await engine.dispose()
      },
    )
  const counts = [...new Set([1, 2, 4, clients])].filter((n) => n <= clients)
  return [
    ...counts.map(sqlaio),
    over(
      `pg.Pool (max ${clients})`,
      () => new pg.Pool({ connectionString: PG_URL, max: clients }),
      (pool) =>
        timeCalls(clients, calls, async (client, i) => (await pool.query(sql, params(client, i))).rows),
      (pool) => pool.end(),
    ),
  ]
}
