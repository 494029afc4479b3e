/**
 * The worker's request loop. It drains its transport synchronously, answers requests in
 * the order they were sent, and streams at most one open result at a time under credit-based
 * backpressure.
 *
 * Why only one stream: better-sqlite3 refuses any statement while an iterator is open on the
 * connection. So when a new request arrives while a result is still streaming, the executor
 * first sends the rest of that result without waiting for credit (the caller asked for more work
 * before reading it; the rows it will read must still be there), then runs the request.
 *
 * Stopping: the main thread never terminates a worker that may be inside better-sqlite3. It sets
 * `Ctl.stopping`, interrupts the running statement (native path) and rings the doorbell; the
 * executor checks the flag between requests and between batches, and `serve` returns so that the
 * worker can close its database and exit by itself.
 */
import { type BatchMessage, Ctl, type Reply, type Request } from '../thread/protocol.js'
import type { WorkerTransport } from '../thread/transport.js'
import { batchBuffers } from './buffer-pool.js'
import type { Driver, RowCursor } from './driver.js'
import { serializeError } from './replies.js'

interface Stream {
  id: number
  cursor: RowCursor
  batchRows: number
  /** Batches the worker may still send before the main thread reads some. */
  credit: number
}

type Control = Extract<Request, { op: 'credit' | 'release' | 'closeResult' | 'cancel' }>
type Work = Exclude<Request, Control>

/** Publishes the id of the request the worker is running in `Ctl.runningId` (0: none). */
export type PublishRunning = (requestId: number) => void

export class Executor {
  readonly #driver: Driver
  readonly #transport: WorkerTransport
  readonly #control: Int32Array
  readonly #publishRunning: PublishRunning
  readonly #queue: Work[] = []
  /** Ids of requests cancelled before they ran. */
  readonly #cancelled = new Set<number>()
  readonly #modules = new Map<string, Record<string, unknown>>()
  #stream: Stream | null = null
  /** Set by `halt`. */
  #halted = false

  constructor(
    driver: Driver,
    transport: WorkerTransport,
    control: Int32Array,
    publishRunning: PublishRunning,
  ) {
    this.#driver = driver
    this.#transport = transport
    this.#control = control
    this.#publishRunning = publishRunning
  }

  /**
   * Makes `serve` return at its next check, as a stop from the main thread would (the session
   * itself decided to end: its server connection was lost). Rings our own doorbell so that an
   * idle wait returns.
   */
  halt(): void {
    this.#halted = true
    Atomics.add(this.#control, Ctl.doorbell, 1)
    Atomics.notify(this.#control, Ctl.doorbell)
  }

  /** Whether the driver does its I/O on this thread's event loop (see `Driver.cancelRunning`). */
  get #async(): boolean {
    return this.#driver.cancelRunning !== undefined
  }

  /**
   * Awaits `pending` while still draining the transport (async drivers only): a `cancel` for the
   * running request must reach the driver while its statement is on the wire. The doorbell is
   * read before each pump, so a message sent after the read settles the waitAsync at once.
   * A wait left pending when `pending` wins settles at the next ring, harmlessly.
   */
  async #settle(pending: Promise<void>): Promise<void> {
    if (!this.#async) return pending
    let settled = false
    const finished = pending.then(
      () => {
        settled = true
      },
      () => {
        settled = true
      },
    )
    while (!settled) {
      const seen = this.#transport.bell()
      this.#pump()
      if (settled) break
      // A stop ends the statement on the wire too; the worker exits once it has settled.
      if (this.#stopRequested()) this.#driver.cancelRunning?.()
      const wait = this.#transport.waitAsync(seen)
      if (wait) await Promise.race([finished, wait])
    }
    return pending
  }

  /**
   * Serves requests until the main thread asks this worker to stop; then closes the open result
   * (if any) and returns. Requests still queued are dropped: their callers have already failed.
   */
  async serve(): Promise<void> {
    while (!this.#stopRequested()) {
      this.#pump()
      const work = this.#queue.shift()
      if (work) {
        const pending = this.#run(work)
        if (pending) await this.#awaiting(pending)
        continue
      }
      const stream = this.#stream
      if (stream && stream.credit > 0) {
        stream.credit--
        const pending = this.#sendNextBatch(stream)
        if (pending) await this.#awaiting(pending)
        continue
      }
      // Idle. Read the doorbell, then look once more: a message sent after that read rings a
      // value we have not seen, so the wait below returns at once instead of sleeping past it.
      const seen = this.#transport.bell()
      this.#pump()
      if (this.#queue.length > 0 || (this.#stream && this.#stream.credit > 0)) continue
      if (this.#async) {
        // Idle without blocking the event loop: the driver's socket needs it.
        const wait = this.#transport.waitAsync(seen)
        if (wait) await wait
        continue
      }
      this.#transport.waitSync(seen)
    }
    const stream = this.#stream
    if (stream) this.#closeStream(stream.id)
  }

  #stopRequested(): boolean {
    return this.#halted || Atomics.load(this.#control, Ctl.stopping) === 1
  }

  /** Awaits asynchronous work, flagging it in `Ctl.awaiting` for a stop's grace period. */
  async #awaiting(pending: Promise<void>): Promise<void> {
    Atomics.store(this.#control, Ctl.awaiting, 1)
    try {
      await this.#settle(pending)
    } finally {
      Atomics.store(this.#control, Ctl.awaiting, 0)
    }
  }

  post(reply: Reply): void {
    this.#transport.send(reply)
  }

  /** Takes every message that has arrived: control messages act now, work is queued. */
  #pump(): void {
    this.#transport.drain(this.#take)
  }

  readonly #take = (message: Request): void => {
    switch (message.op) {
      case 'credit':
        if (message.release) batchBuffers.release(message.release)
        if (this.#stream?.id === message.id) this.#stream.credit += message.batches
        break
      case 'release':
        batchBuffers.release(message.leases)
        break
      case 'closeResult':
        this.#closeStream(message.id)
        break
      case 'cancel':
        // A streaming result stops here, between batches. Otherwise the id is remembered:
        // if its request is still queued, it is skipped when its turn comes.
        if (this.#closeStream(message.id)) this.#postAbort(message.id)
        else {
          this.#cancelled.add(message.id)
          // An async driver's statement for this request is on the wire: stop it there.
          if (Atomics.load(this.#control, Ctl.runningId) === message.id) this.#driver.cancelRunning?.()
        }
        break
      default:
        this.#queue.push(message)
    }
  }

  #closeStream(id: number): boolean {
    const stream = this.#stream
    if (stream?.id !== id) return false
    this.#stream = null
    stream.cursor.close()
    return true
  }

  /**
   * Sends the stream's next batch (or its end). Returns a promise only for an async driver.
   * `runningId` names the stream while it steps, so that closing or aborting the result can
   * interrupt a long batch instead of waiting for it.
   */
  #sendNextBatch(stream: Stream): Promise<void> | undefined {
    this.#publishRunning(stream.id)
    let batch: ReturnType<RowCursor['nextBatch']>
    try {
      batch = stream.cursor.nextBatch(stream.batchRows)
    } catch (error) {
      this.#finish()
      this.#streamFailed(stream, error)
      return undefined
    }
    if (batch instanceof Promise) {
      return batch.then(
        (b) => {
          this.#finish()
          this.#postBatch(stream, b)
        },
        (error) => {
          this.#finish()
          this.#streamFailed(stream, error)
        },
      )
    }
    this.#finish()
    this.#postBatch(stream, batch)
    return undefined
  }

  #postBatch(stream: Stream, batch: BatchMessage | null): void {
    const done = stream.cursor.done
    if (done && this.#stream === stream) this.#stream = null
    if (batch && batch.numRows > 0) this.post({ kind: 'batch', id: stream.id, batch, done })
    else if (done) this.post({ kind: 'end', id: stream.id })
  }

  #streamFailed(stream: Stream, error: unknown): void {
    if (this.#stream === stream) this.#stream = null
    stream.cursor.close()
    this.#postError(stream.id, error)
  }

  /** Sends the rest of the open result regardless of credit, so the connection is free. */
  #drainStream(): Promise<void> | undefined {
    for (;;) {
      const stream = this.#stream
      if (!stream || this.#stopRequested()) return undefined
      const pending = this.#sendNextBatch(stream)
      this.#pump()
      if (pending) return pending.then(() => this.#drainStream())
    }
  }

  /** Answers a cancelled request: it stopped (or never ran), and this is the state it left. */
  #postAbort(id: number): void {
    this.post({
      kind: 'error',
      id,
      error: { name: 'AbortError', message: 'The operation was aborted' },
      inTransaction: this.#driver.inTransaction,
    })
  }

  #postError(id: number, error: unknown): void {
    this.post({
      kind: 'error',
      id,
      error: serializeError(error),
      inTransaction: this.#driver.inTransaction,
    })
  }

  /** Whether `id` was cancelled; forgets cancels that can no longer match (ids only grow). */
  #takeCancel(id: number): boolean {
    if (this.#cancelled.size === 0) return false
    const cancelled = this.#cancelled.has(id)
    for (const old of this.#cancelled) if (old <= id) this.#cancelled.delete(old)
    return cancelled
  }

  #run(work: Work): Promise<void> | undefined {
    if (work.op === 'reset') {
      const stream = this.#stream
      if (stream) this.#closeStream(stream.id)
    } else {
      const draining = this.#drainStream()
      if (draining) return draining.then(() => this.#start(work))
    }
    return this.#start(work)
  }

  #start(work: Work): Promise<void> | undefined {
    // The main thread is ending this worker: start nothing (its callers already failed).
    if (this.#stopRequested()) return undefined
    this.#publishRunning(work.id)
    // Look for its cancel once more, after publishing runningId: a cancel the main thread sent
    // while it still read runningId as something else (so it sent no interrupt) has arrived
    // by now. Sequentially consistent atomics on both sides make one of the two see the other.
    this.#pump()
    if (this.#takeCancel(work.id)) {
      this.#finish()
      this.#postAbort(work.id)
      return undefined
    }
    try {
      const outcome = this.#dispatch(work)
      if (outcome instanceof Promise) {
        return outcome.then(
          () => this.#finish(),
          (error) => {
            this.#finish()
            this.#postError(work.id, error)
          },
        )
      }
      this.#finish()
    } catch (error) {
      this.#finish()
      this.#postError(work.id, error)
    }
    return undefined
  }

  #finish(): void {
    this.#publishRunning(0)
  }

  #ok(id: number, value: unknown): void {
    this.post({ kind: 'ok', id, value, inTransaction: this.#driver.inTransaction })
  }

  #dispatch(work: Work): Promise<void> | undefined {
    const driver = this.#driver
    switch (work.op) {
      case 'execute':
        return this.#execute(work)
      case 'exec': {
        const done = driver.exec(work.sql)
        if (done instanceof Promise) return done.then(() => this.#ok(work.id, null))
        this.#ok(work.id, null)
        return undefined
      }
      case 'executeMany':
      case 'executeArrow': {
        const paramsList =
          work.op === 'executeArrow'
            ? { ipc: work.ipc, byteLength: work.byteLength, byName: work.byName }
            : work.paramsList
        const changes = driver.executeMany(work.sql, paramsList)
        if (changes instanceof Promise) return changes.then((n) => this.#ok(work.id, n))
        this.#ok(work.id, changes)
        return undefined
      }
      case 'reset': {
        const done = driver.rollbackAll()
        if (done instanceof Promise) return done.then(() => this.#ok(work.id, null))
        this.#ok(work.id, null)
        return undefined
      }
      case 'runInWorker':
        return this.#runInWorker(work)
    }
  }

  #execute(work: Extract<Work, { op: 'execute' }>): Promise<void> | undefined {
    const outcome = this.#driver.execute(work.sql, work.params, work.batchRows)
    if (outcome instanceof Promise) return outcome.then((o) => this.#started(work, o))
    this.#started(work, outcome)
    return undefined
  }

  #started(
    work: Extract<Work, { op: 'execute' }>,
    outcome: Awaited<ReturnType<Driver['execute']>>,
  ): Promise<void> | undefined {
    const inTransaction = this.#driver.inTransaction
    if (!outcome.returnsRows) {
      this.post({
        kind: 'started',
        id: work.id,
        returnsRows: false,
        columns: [],
        rowcount: outcome.rowcount,
        lastInsertRowid: outcome.lastInsertRowid,
        inTransaction,
        batch: null,
        done: true,
      })
      return undefined
    }
    const { cursor, columns } = outcome
    const send = (batch: Awaited<ReturnType<RowCursor['nextBatch']>>): void => {
      const done = cursor.done
      if (!done) {
        this.#stream = {
          id: work.id,
          cursor,
          batchRows: work.batchRows,
          credit: work.prefetchBatches - 1,
        }
      }
      this.post({
        kind: 'started',
        id: work.id,
        returnsRows: true,
        columns,
        rowcount: -1,
        lastInsertRowid: 0n,
        inTransaction: this.#driver.inTransaction,
        batch,
        done,
      })
    }
    const first = cursor.nextBatch(work.batchRows)
    if (first instanceof Promise) return first.then(send)
    send(first)
    return undefined
  }

  async #runInWorker(work: Extract<Work, { op: 'runInWorker' }>): Promise<void> {
    let module = this.#modules.get(work.module)
    if (!module) {
      module = (await import(work.module)) as Record<string, unknown>
      this.#modules.set(work.module, module)
    }
    const fn = module[work.exportName]
    if (typeof fn !== 'function') {
      throw new TypeError(`runInWorker: ${work.module} has no exported function "${work.exportName}"`)
    }
    const value: unknown = await fn(this.#driver.raw, ...work.args)
    this.#ok(work.id, value)
  }
}
