/**
 * Main-thread side of the run-in-executor baselines: a plain Worker posting rows back, and a
 * piscina pool running the same task.
 */
import { Worker } from 'node:worker_threads'
import { Piscina } from 'piscina'
import type { QueryTask } from './run-query.js'

export interface Executor {
  all(sql: string, params?: unknown[]): Promise<unknown[]>
  close(): Promise<void>
}

/** One plain worker thread with a better-sqlite3 connection, answering tasks in order. */
export function plainWorker(path: string): Executor {
  const worker = new Worker(new URL('./executor-worker.js', import.meta.url), { workerData: { path } })
  const pending = new Map<number, { resolve: (rows: unknown[]) => void; reject: (error: Error) => void }>()
  let nextId = 0
  worker.on('message', ({ id, rows }: { id: number; rows: unknown[] }) => {
    pending.get(id)?.resolve(rows)
    pending.delete(id)
  })
  worker.on('error', (error) => {
    for (const { reject } of pending.values()) reject(error)
    pending.clear()
  })
  return {
    all(sql, params = []) {
      const id = nextId++
      const task: QueryTask = { sql, params }
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        worker.postMessage({ id, task })
      })
    },
    async close() {
      await worker.terminate()
    },
  }
}

/** A piscina pool of `threads` workers, each with its own better-sqlite3 connection. */
export function piscinaPool(path: string, threads: number): Executor {
  const pool = new Piscina({
    filename: new URL('./piscina-task.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    workerData: { path },
  })
  return {
    all(sql, params = []) {
      const task: QueryTask = { sql, params }
      return pool.run(task)
    },
    async close() {
      await pool.destroy()
    },
  }
}
