/**
 * Worker entry point: open the connection, run the `setup` module, say ready, then serve.
 */
import { workerData } from 'node:worker_threads'
import type { WorkerInit } from '../thread/protocol.js'
import { Executor } from './executor.js'
import { postReply, serializeError } from './replies.js'
import { SqliteDriver } from './sqlite-driver.js'

const init = workerData as WorkerInit
const control = new Int32Array(init.control)

async function open(): Promise<SqliteDriver> {
  const driver = new SqliteDriver(init)
  try {
    if (init.setup) {
      const module = (await import(init.setup)) as { default?: unknown }
      if (typeof module.default !== 'function') {
        throw new TypeError(`setup module ${init.setup} has no default export function`)
      }
      await module.default(driver.raw)
    }
    return driver
  } catch (error) {
    driver.close()
    throw error
  }
}

try {
  const driver = await open()
  const executor = new Executor(driver, init.port, control)
  // Id 0 is the start-up handshake: an error there fails every call queued on this worker.
  executor.post({ kind: 'ready', id: 0 })
  await executor.serve()
} catch (error) {
  postReply(init.port, control, {
    kind: 'error',
    id: 0,
    inTransaction: false,
    error: serializeError(error),
  })
}
