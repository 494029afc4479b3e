/**
 * The asynchronous baselines behind one interface, each able to spread calls over several
 * threads: plain workers posting rows, a piscina pool, node-sqlite3 handles.
 */
import { type Executor, piscinaPool, plainWorker } from './executor.js'
import { openNodeSqlite3 } from './node-sqlite3.js'

export interface AsyncBaseline {
  name: string
  /** Opens the baseline over `threads` threads (or connections), calls spread across them. */
  open(path: string, threads: number): Promise<Executor>
}

/** Spreads calls over several executors in turn; pools that schedule for themselves need none. */
function roundRobin(executors: Executor[]): Executor {
  let next = 0
  return {
    all(sql, params) {
      const executor = executors[next]!
      next = (next + 1) % executors.length
      return executor.all(sql, params)
    },
    async close() {
      await Promise.all(executors.map((executor) => executor.close()))
    },
  }
}

const times = <T>(n: number, make: () => T): T[] => Array.from({ length: n }, make)

export const ASYNC_BASELINES: AsyncBaseline[] = [
  {
    name: 'worker + postMessage',
    open: async (path, threads) => roundRobin(times(threads, () => plainWorker(path))),
  },
  { name: 'piscina', open: async (path, threads) => piscinaPool(path, threads) },
  {
    name: 'node-sqlite3',
    open: async (path, threads) => roundRobin(await Promise.all(times(threads, () => openNodeSqlite3(path)))),
  },
]
