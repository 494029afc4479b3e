/**
 * Worker entry point: open the connection, run the `setup` module, say ready, then serve.
 */
import { workerData } from 'node:worker_threads'
import { Ctl, type WorkerInit } from '../thread/protocol.js'
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
    const reader = NativeReader.attach(driver.raw, control, init.busyTimeoutMs)
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

/**
 * Ends this worker after the main thread asked it to stop: the database is closed here, outside
 * any better-sqlite3 call, so nothing can fail while the thread is being torn down.
 */
function exitStopped(driver: SqliteDriver): never {
  try {
    driver.close()
  } finally {
    Atomics.store(control, Ctl.stopped, 1)
    Atomics.notify(control, Ctl.stopped)
    process.exit(0)
  }
}

try {
  const { driver, native } = await open()
  // With the addon attached the main thread can interrupt statements: report those as aborts.
  const served = native ? new InterruptibleDriver(driver, control) : driver
  const publishRunning = native
    ? (id: number) => native.setRunning(id)
    : (id: number) => Atomics.store(control, Ctl.runningId, id)
  const executor = new Executor(served, init.port, control, publishRunning)
  // Id 0 is the start-up handshake: an error there fails every call queued on this worker.
  executor.post(native ? { kind: 'ready', id: 0, nativeId: native.id } : { kind: 'ready', id: 0 })
  await executor.serve()
  exitStopped(driver)
} catch (error) {
  postReply(init.port, control, {
    kind: 'error',
    id: 0,
    inTransaction: false,
    error: serializeError(error),
  })
}
