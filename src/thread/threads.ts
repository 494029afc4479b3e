/**
 * The threads channels live on. A SQLite connection has a thread of its own: its statements
 * run synchronously, so a thread serves one connection. A PostgreSQL connection's I/O is
 * asynchronous, so its sessions share a few threads (see MAX_SHARED_THREADS), each serving many
 * connections on its event loop. Measured with 16 callers on 16 connections (2 cores): a thread
 * per connection served about 2,000 `SELECT 1`/s, sixteen V8 isolates each too rarely called
 * to warm up their JIT; one shared thread served about 8,300/s.
 *
 * A channel sees its thread as a `ThreadSeat`: it refs and unrefs it (the process stays alive
 * while any channel on the thread is owed a reply) and hears once when its session has ended:
 * its own thread exited, or on a shared thread, its session closed its connection (`ended`) or
 * the whole thread exited (a crash ends every session on it).
 */
import { availableParallelism } from 'node:os'
import type { ResourceLimits, TransferListItem, Worker } from 'node:worker_threads'
import type { PostgresWorkerInit, SharedThreadInit, SharedThreadMessage, WorkerInit } from './protocol.js'
import { startWorker } from './worker-flags.js'

const WORKER_SCRIPT = new URL('../worker/main.js', import.meta.url)

/**
 * The young generation of a worker's heap, unless the engine's `resourceLimits` sets one. V8
 * grows it to 48 MB under a steady stream of short-lived values (a JS-path worker makes every
 * cell of a streamed result as one), and RSS keeps what it grew to: streaming 3M rows grew
 * RSS by 54–62 MB with V8's default, 14–26 MB with 16 MB. Smaller costs time: the JS path's
 * 1M-row `toArrow()` collected garbage a fifth of its time at 8 MB, and ran slower than at 16.
 */
const WORKER_YOUNG_GENERATION_MB = 16

/** The Worker options for `resourceLimits` (the engine's, over our default young generation). */
function limitsOption(resourceLimits: ResourceLimits | null): { resourceLimits: ResourceLimits } {
  return { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, ...resourceLimits } }
}

/** What a channel holds of the thread its session runs on. */
export interface ThreadSeat {
  /** Keeps the process alive (until `unref`) while this seat's channel is owed something. */
  ref(): void
  unref(): void
}

/** Told once that a session ended, with its thread's exit code and last uncaught error. */
export type SessionEnded = (code: number, error: Error | null) => void

/** Starts a thread of its own for `init` (SQLite). */
export function dedicatedThread(
  init: WorkerInit,
  transferList: TransferListItem[],
  resourceLimits: ResourceLimits | null,
  ended: SessionEnded,
): ThreadSeat {
  const worker = startWorker(WORKER_SCRIPT, {
    workerData: init,
    transferList,
    ...limitsOption(resourceLimits),
  })
  worker.unref()
  let lastError: Error | null = null
  worker.on('error', (error) => {
    lastError = error
  })
  worker.on('exit', (code) => ended(code, lastError))
  return { ref: () => worker.ref(), unref: () => worker.unref() }
}

/** A thread serving several sessions, and the seats on it. */
class SharedThread {
  readonly #worker: Worker
  readonly #seats = new Map<number, SharedSeat>()
  readonly #forget: () => void
  #nextKey = 1
  /** Seats that are ref'd: the Worker is ref'd while there is one. */
  #refs = 0
  #lastError: Error | null = null
  #exited = false

  constructor(resourceLimits: ResourceLimits | null, forget: () => void) {
    this.#forget = forget
    const workerData: SharedThreadInit = { shared: true }
    this.#worker = startWorker(WORKER_SCRIPT, { workerData, ...limitsOption(resourceLimits) })
    this.#worker.unref()
    this.#worker.on('message', (message: SharedThreadMessage) => {
      if (message.kind === 'ended') this.#seats.get(message.key)?.end(message.code, null)
    })
    this.#worker.on('error', (error) => {
      this.#lastError = error
    })
    this.#worker.on('exit', (code) => {
      this.#exited = true
      this.#forget()
      for (const seat of [...this.#seats.values()]) seat.end(code, this.#lastError)
    })
  }

  get sessions(): number {
    return this.#seats.size
  }

  attach(init: PostgresWorkerInit, transferList: TransferListItem[], ended: SessionEnded): ThreadSeat {
    const key = this.#nextKey++
    const seat = new SharedSeat(this, key, ended)
    this.#seats.set(key, seat)
    const open: SharedThreadMessage = { kind: 'open', key, init }
    this.#worker.postMessage(open, transferList)
    return seat
  }

  /** One more (`by` 1) or one fewer (-1) ref'd seat. */
  countRef(by: 1 | -1): void {
    this.#refs += by
    if (this.#refs === 0) this.#worker.unref()
    else if (by === 1 && this.#refs === 1) this.#worker.ref()
  }

  /**
   * Seat `key`'s session has ended. A live thread left with no session is closed at once and no
   * new session is sent to it (it is forgotten first), so it never has one to end.
   */
  remove(key: number): void {
    this.#seats.delete(key)
    if (this.#seats.size > 0 || this.#exited) return
    this.#forget()
    const close: SharedThreadMessage = { kind: 'close' }
    this.#worker.postMessage(close)
  }
}

class SharedSeat implements ThreadSeat {
  readonly #thread: SharedThread
  readonly #key: number
  readonly #ended: SessionEnded
  #refd = false
  #over = false

  constructor(thread: SharedThread, key: number, ended: SessionEnded) {
    this.#thread = thread
    this.#key = key
    this.#ended = ended
  }

  ref(): void {
    if (this.#refd || this.#over) return
    this.#refd = true
    this.#thread.countRef(1)
  }

  unref(): void {
    if (!this.#refd) return
    this.#refd = false
    this.#thread.countRef(-1)
  }

  end(code: number, error: Error | null): void {
    if (this.#over) return
    this.unref()
    this.#over = true
    this.#thread.remove(this.#key)
    this.#ended(code, error)
  }
}

/**
 * At most this many shared threads per set of resource limits: a core each, less one for the
 * main thread. With 16 callers on 2 cores, one thread served as many calls as two (8.3k against
 * 8.5k `SELECT 1`/s) for less CPU: the server needs a core too.
 */
const MAX_SHARED_THREADS = Math.max(1, availableParallelism() - 1)

/** The live shared threads, by their resource limits (a thread has one set, fixed at start). */
const sharedThreads = new Map<string, SharedThread[]>()

/**
 * Seats `init` (PostgreSQL) on a shared thread: the one serving the fewest sessions, or a new
 * one while there are fewer than MAX_SHARED_THREADS and every thread already serves a session.
 */
export function sharedThread(
  init: PostgresWorkerInit,
  transferList: TransferListItem[],
  resourceLimits: ResourceLimits | null,
  ended: SessionEnded,
): ThreadSeat {
  const limitsKey = JSON.stringify(resourceLimits)
  let threads = sharedThreads.get(limitsKey)
  if (!threads) {
    threads = []
    sharedThreads.set(limitsKey, threads)
  }
  let thread = threads.reduce<SharedThread | null>(
    (least, t) => (least && least.sessions <= t.sessions ? least : t),
    null,
  )
  if (!thread || (thread.sessions > 0 && threads.length < MAX_SHARED_THREADS)) {
    const list = threads
    const created: SharedThread = new SharedThread(resourceLimits, () => {
      const at = list.indexOf(created)
      if (at >= 0) list.splice(at, 1)
    })
    list.push(created)
    thread = created
  }
  return thread.attach(init, transferList, ended)
}
