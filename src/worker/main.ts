/**
 * Worker entry point: open the connection, run the `setup` module, say ready, then serve.
 */
import { workerData } from 'node:worker_threads'
import type { WorkerInit } from '../thread/protocol.js'
import { Executor } from './executor.js'
import { NativeReader } from './native-driver.js'
import { InterruptibleDriver } from './native-interrupt.js'
import { postReply, serializeError } from './replies.js'
import { SqliteDriver } from './sqlite-driver.js'

const init = workerData as WorkerInit
const control = new Int32Array(init.control)

/** Attaches the native addon to the connection as `init.native` asks; null on the JS path. */
function attachNative(driver: SqliteDriver): NativeReader | null {
  const mode = init.native ?? 'off'
  if (mode === 'off') return null
  try {
    const reader = NativeReader.attach(driver.raw, control)
    driver.useNative(reader)
    return reader
  } catch (error) {
    // 'auto' falls back to the JS path, whose results are identical.
    if (mode === 'require') throw error
    return null
  }
}

async function open(): Promise<{ driver: SqliteDriver; native: NativeReader | null }> {
  const driver = new SqliteDriver(init)
  try {
    const native = attachNative(driver)
    if (init.setup) {
      const module = (await import(init.setup)) as { default?: unknown }
      if (typeof module.default !== 'function') {
        throw new TypeError(`setup module ${init.setup} has no default export function`)
      }
      await module.default(driver.raw)
    }
    return { driver, native }
  } catch (error) {
    driver.close()
    throw error
  }
}

try {
  const { driver, native } = await open()
  // With the addon attached the main thread can interrupt statements: report those as aborts.
  const served = native ? new InterruptibleDriver(driver, control) : driver
  const executor = new Executor(served, init.port, control)
  // Id 0 is the start-up handshake: an error there fails every call queued on this worker.
  executor.post(native ? { kind: 'ready', id: 0, nativeId: native.id } : { kind: 'ready', id: 0 })
  await executor.serve()
} catch (error) {
  postReply(init.port, control, {
    kind: 'error',
    id: 0,
    inTransaction: false,
    error: serializeError(error),
  })
}
