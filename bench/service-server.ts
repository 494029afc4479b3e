/**
 * The server `npm run bench:service` measures, in a child process of its own: node:http on
 * 127.0.0.1 (a port the OS picks, sent to the parent over IPC) over the reference rows, configured
 * by argv[2] (a ServerConfig as JSON), with two endpoints:
 * - `GET /lookup?id=N`: one row by primary key, as JSON (the blob as hex text, so that every
 *   backend answers the same bytes);
 * - `GET /report`: the first `reportRows` rows read as row objects (better-sqlite3 `.all()`, sqlaio
 *   `fetchall()`), answered with their count. Serialising them as JSON would cost every
 *   backend the same main-thread time, and the load generator, on the same two cores, would spend
 *   as much again parsing it: the endpoint measures the database read and nothing else.
 * The backend is `sync`, better-sqlite3 on the main thread, or `js` or `native`, sqlaio on that
 * path with a fixed pool of `poolSize` connections from one engine, each request waiting for a free
 * one (a connection per request would add the round trip of its close to every request).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Database from 'better-sqlite3'
import type { Connection } from '../src/index.js'
import { openEngine, type SqlaioPath } from './clients/sqlaio.js'

export interface ServerConfig {
  backend: 'sync' | SqlaioPath
  /** The reference database. */
  path: string
  /** Connections of a sqlaio backend. */
  poolSize: number
  reportRows: number
}

const LOOKUP_SQL = 'SELECT id, a, b, c, d, hex(e) AS e FROM ref WHERE id = ?'
const REPORT_SQL = 'SELECT id, a, b, c, d, e FROM ref WHERE id <= ?'

interface Queries {
  lookup(id: number): Promise<unknown> | unknown
  report(): Promise<number> | number
}

function sync({ path, reportRows }: ServerConfig): Queries {
  const db = new Database(path, { readonly: true })
  const lookup = db.prepare(LOOKUP_SQL)
  const report = db.prepare(REPORT_SQL)
  return { lookup: (id) => lookup.get(id), report: () => report.all(reportRows).length }
}

/** Runs each call on the first free connection of `connections`, in the order the calls came. */
function pooled(connections: Connection[]): <T>(call: (conn: Connection) => Promise<T>) => Promise<T> {
  const idle = [...connections]
  const waiting: ((conn: Connection) => void)[] = []
  return async (call) => {
    const conn = idle.pop() ?? (await new Promise<Connection>((resolve) => waiting.push(resolve)))
    try {
      return await call(conn)
    } finally {
      const next = waiting.shift()
      if (next) next(conn)
      else idle.push(conn)
    }
  }
}

async function sqlaio({ path, poolSize, reportRows }: ServerConfig, via: SqlaioPath): Promise<Queries> {
  const engine = await openEngine(path, via, true, { poolSize })
  const use = pooled(await Promise.all(Array.from({ length: poolSize }, () => engine.connect())))
  const rows = (conn: Connection, sql: string, params: unknown[]) =>
    conn.execute(sql, params).then((result) => result.fetchall())
  return {
    lookup: (id) => use(async (conn) => (await rows(conn, LOOKUP_SQL, [id]))[0]),
    report: () => use(async (conn) => (await rows(conn, REPORT_SQL, [reportRows])).length),
  }
}

async function answer(queries: Queries, url: URL): Promise<unknown> {
  if (url.pathname === '/lookup') return queries.lookup(Number(url.searchParams.get('id')))
  if (url.pathname === '/report') return { rows: await queries.report() }
  return undefined
}

const config = JSON.parse(process.argv[2]!) as ServerConfig
const queries = config.backend === 'sync' ? sync(config) : await sqlaio(config, config.backend)
const server = createServer(async (request, response) => {
  try {
    const body = await answer(queries, new URL(request.url ?? '/', 'http://localhost'))
    if (body === undefined) response.writeHead(404).end()
    else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  } catch (error) {
    response.writeHead(500).end(String(error))
  }
})
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }))
