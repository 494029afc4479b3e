/**
 * Worker entry point. A SQLite worker serves one connection, named by its `workerData`: open it,
 * run the `setup` module, say ready, serve, and exit when asked to stop. A shared thread
 * (PostgreSQL, thread/threads.ts) serves many: each `open` message from the main thread starts a
 * session with its own control block, transport, executor and server connection, all on this
 * thread's event loop, and each session reports `ended` when it has closed its connection.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { SqliteDriver } from '../dialects/sqlite/driver.js'
import { InterruptibleDriver } from '../dialects/sqlite/interrupt.js'
import { NativeReader } from '../dialects/sqlite/native-reader.js'
import { PortTransport } from '../thread/port-transport.js'
import {
  Ctl,
  type PostgresWorkerInit,
  type SharedThreadInit,
  type SharedThreadMessage,
  type SqliteWorkerInit,
  type WorkerInit,
} from '../thread/protocol.js'
import { WorkerRingTransport } from '../thread/ring-transport.js'
import { shareSpinners, WORKER_SIDE, type WorkerTransport } from '../thread/transport.js'
import type { Driver } from './driver.js'
import { Executor } from './executor.js'
import { serializeError } from './replies.js'

/** One session's end of its channel: its control block and transport. */
interface Link {
  control: Int32Array
  transport: WorkerTransport
}

function linkOf(init: WorkerInit): Link {
  const control = new Int32Array(init.control)
  const transport: WorkerTransport = init.rings
    ? new WorkerRingTransport(control, init.port, init.rings)
    : new PortTransport(control, init.port, WORKER_SIDE)
  transport.wakeBy(init.wake)
  return { control, transport }
}

/** Attaches the native addon to the connection as `init.native` asks; null on the JS path. */
function attachNative(
  driver: SqliteDriver,
  init: SqliteWorkerInit,
  control: Int32Array,
): NativeReader | null {
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

async function open(
  init: SqliteWorkerInit,
  control: Int32Array,
): Promise<{ driver: SqliteDriver; native: NativeReader | null }> {
  const driver = new SqliteDriver(init)
  try {
    const native = attachNative(driver, init, control)
    await runSetup(init.setup, driver.raw)
    return { driver, native }
  } catch (error) {
    driver.close()
    throw error
  }
}

/** Tells the main thread's exit guard that this session has closed its connection. */
function markStopped(control: Int32Array): void {
  Atomics.store(control, Ctl.stopped, 1)
  Atomics.notify(control, Ctl.stopped)
}

/**
 * Ends this worker after the main thread asked it to stop: the connection is closed here,
 * outside any database call, so nothing can fail while the thread is being torn down.
 */
async function exitStopped(driver: Driver, control: Int32Array): Promise<never> {
  try {
    await driver.close()
  } finally {
    markStopped(control)
    process.exit(0)
  }
}

/**
 * One PostgreSQL session on a shared thread: one `pg` connection. Resolves with the code its
 * channel hears (see `SharedThreadMessage`) once the connection is closed: 0 after a stop, 3
 * when the server connection was lost (the session then answers what it owes and ends, so the
 * engine opens a fresh connection for its next call).
 */
async function servePostgres(init: PostgresWorkerInit): Promise<number> {
  const { control, transport } = linkOf(init)
  let executor: Executor | null = null
  let code = 0
  try {
    const { loadPg } = await import('../dialects/postgres/load.js')
    const { PgDriver } = await import('../dialects/postgres/driver.js')
    const pg = await loadPg()
    const driver = await PgDriver.open(pg, init.connectionString, () => {
      setTimeout(() => {
        code = 3
        executor?.halt()
      }, 10)
    })
    try {
      await runSetup(init.setup, driver.raw)
      const publishRunning = (id: number) => Atomics.store(control, Ctl.runningId, id)
      executor = new Executor(driver, transport, control, publishRunning)
      executor.post({ kind: 'ready', id: 0, backendPid: driver.backendPid })
      await executor.serve()
    } finally {
      await driver.close().catch(() => {})
    }
  } catch (error) {
    if (!executor) failStart(transport, error)
    else throw error
  }
  markStopped(control)
  return code
}

/** A shared thread: serves a session for each `open` until the main thread closes it. */
function serveShared(): void {
  const port = parentPort
  if (!port) throw new Error('a shared thread must run in a worker')
  port.on('message', (message: SharedThreadMessage) => {
    if (message.kind === 'close') process.exit(0)
    if (message.kind !== 'open') return
    void servePostgres(message.init).then((code) => {
      const ended: SharedThreadMessage = { kind: 'ended', key: message.key, code }
      port.postMessage(ended)
    })
  })
}

async function serveSqlite(init: SqliteWorkerInit): Promise<void> {
  shareSpinners(init.spinners)
  const { control, transport } = linkOf(init)
  let driver: SqliteDriver
  let native: NativeReader | null
  try {
    ;({ driver, native } = await open(init, control))
  } catch (error) {
    // Nothing else keeps this thread's event loop: the worker ends once the reply is out.
    failStart(transport, error)
    return
  }
  // With the addon attached the main thread can interrupt statements: report those as aborts.
  const served = native ? new InterruptibleDriver(driver, control) : driver
  const publishRunning = native
    ? (id: number) => native.setRunning(id)
    : (id: number) => Atomics.store(control, Ctl.runningId, id)
  const executor = new Executor(served, transport, control, publishRunning)
  // Id 0 is the start-up handshake: an error there fails every call queued on this worker.
  executor.post(native ? { kind: 'ready', id: 0, nativeId: native.id } : { kind: 'ready', id: 0 })
  await executor.serve()
  return exitStopped(driver, control)
}

/** Fails the start-up handshake (id 0): every call queued on this session fails with `error`. */
function failStart(transport: WorkerTransport, error: unknown): void {
  transport.send({ kind: 'error', id: 0, inTransaction: false, error: serializeError(error) })
}

const data = workerData as SqliteWorkerInit | SharedThreadInit
if ('shared' in data) serveShared()
else await serveSqlite(data)
