/**
 * The run-in-executor baseline through piscina: the same task as the plain worker, returned
 * (structured-cloned) by piscina.
 */
import { workerData } from 'piscina'
import { type QueryTask, queryRunner } from './run-query.js'

const run = queryRunner(workerData.path as string)

export default function task(query: QueryTask): unknown[] {
  return run(query)
}
