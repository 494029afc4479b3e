/**
 * The worker + postMessage baseline for PostgreSQL, worker side: `pg` runs each query here and
 * posts its rows back to the main thread (a structured clone, as a run-in-executor would).
 */
import { parentPort, workerData } from 'node:worker_threads'
import pg from 'pg'

const client = new pg.Client({ connectionString: workerData.url as string })
await client.connect()
parentPort!.on('message', async (sql: string) => {
  parentPort!.postMessage((await client.query(sql)).rows)
})
