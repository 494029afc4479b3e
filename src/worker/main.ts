/**
 * Worker entry point: open the connection of the dialect the init names, run the `setup`
 * module, say ready, then serve.
 */
import { workerData } from 'node:worker_threads'
import { SqliteDriver } from '../dialects/sqlite/driver.js'
import { InterruptibleDriver } from '../dialects/sqlite/interrupt.js'
import { NativeReader } from '../dialects/sqlite/native-reader.js'
import { PortTransport } from '../thread/port-transport.js'
import { Ctl, type PostgresWorkerInit, type SqliteWorkerInit, type WorkerInit } from '../thread/protocol.js'
import { WorkerRingTransport } from '../thread/ring-transport.js'
import { shareSpinners, WORKER_SIDE, type WorkerTransport } from '../thread/transport.js'
import type { Driver } from './driver.js'
import { Executor } from './executor.js'
import { serializeError } from './replies.js'

const data = workerData as WorkerInit
const control = new Int32Array(data.control)
shareSpinners(data.spinners)
const transport: WorkerTransport = data.rings
  ? new WorkerRingTransport(control, data.port, data.rings)
  : new PortTransport(control, data.port, WORKER_SIDE)
transport.wakeBy(data.wake)

/** Attaches the native addon to the connection as `init.native` asks; null on the JS path. */
function attachNative(driver: SqliteDriver, init: SqliteWorkerInit): NativeReader | null {
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

async function runSetup(setup: string | null, raw: unknown): Promise<void> {
  if (!setup) return
  const module = (await import(setup)) as { default?: unknown }
  if (typeof module.default !== 'function') {
    throw new TypeError(`setup module ${setup} has no default export function`)
  }
  await module.default(raw)
}

async function open(init: SqliteWorkerInit): Promise<{ driver: SqliteDriver; native: NativeReader | null }> {
  const driver = new SqliteDriver(init)
  try {
    const native = attachNative(driver, init)
    await runSetup(init.setup, driver.raw)
    return { driver, native }
  } catch (error) {
    driver.close()
    throw error
  }
}

/**
 * Ends this worker after the main thread asked it to stop: the connection is closed here,
 * outside any database call, so nothing can fail while the thread is being torn down.
 */
async function exitStopped(driver: Driver): Promise<never> {
  try {
    await driver.close()
  } finally {
    Atomics.store(control, Ctl.stopped, 1)
    Atomics.notify(control, Ctl.stopped)
    process.exit(0)
  }
}

/**
 * PostgreSQL: one `pg` connection. When the server connection is lost the worker posts what it
 * owes and exits, so the engine starts a fresh worker (and connection) for its next call.
 */
async function servePostgres(init: PostgresWorkerInit): Promise<never> {
  const { loadPg } = await import('../dialects/postgres/load.js')
  const { PgDriver } = await import('../dialects/postgres/driver.js')
  const pg = await loadPg()
  const driver = await PgDriver.open(pg, init.connectionString, () => {
    setTimeout(() => process.exit(3), 10)
  })
  try {
    await runSetup(init.setup, driver.raw)
  } catch (error) {
    await driver.close()
    throw error
  }
  const publishRunning = (id: number) => Atomics.store(control, Ctl.runningId, id)
  const executor = new Executor(driver, transport, control, publishRunning)
  executor.post({ kind: 'ready', id: 0, backendPid: driver.backendPid })
  await executor.serve()
  return exitStopped(driver)
}

async function serveSqlite(init: SqliteWorkerInit): Promise<never> {
  const { driver, native } = await open(init)
  // With the addon attached the main thread can interrupt statements: report those as aborts.
  const served = native ? new InterruptibleDriver(driver, control) : driver
  const publishRunning = native
    ? (id: number) => native.setRunning(id)
    : (id: number) => Atomics.store(control, Ctl.runningId, id)
  const executor = new Executor(served, transport, control, publishRunning)
  // Id 0 is the start-up handshake: an error there fails every call queued on this worker.
  executor.post(native ? { kind: 'ready', id: 0, nativeId: native.id } : { kind: 'ready', id: 0 })
  await executor.serve()
  return exitStopped(driver)
}

try {
  await (data.dialect === 'postgresql' ? servePostgres(data) : serveSqlite(data))
} catch (error) {
  transport.send({
    kind: 'error',
    id: 0,
    inTransaction: false,
    error: serializeError(error),
  })
}
