/**
 * The plain run-in-executor baseline, worker side: answers each task by posting its rows back
 * (a structured clone, as `run_in_executor` + postMessage would).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { type QueryTask, queryRunner } from './run-query.js'

const run = queryRunner(workerData.path as string)
parentPort!.on('message', ({ id, task }: { id: number; task: QueryTask }) => {
  parentPort!.postMessage({ id, rows: run(task) })
})
