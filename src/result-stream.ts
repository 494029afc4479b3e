/**
 * The receiving end of one result's batches: a queue, flow control, and the end-of-stream and
 * failure states. The worker channel routes replies here; the public AsyncResult reads from it.
 * It is separate from AsyncResult so that a result the user drops can be garbage-collected (the
 * channel holds only this object) and then closed by a finalizer.
 *
 * Flow control. The worker may run `prefetchBatches` batches ahead of the reader (the first
 * batch comes with the 'started' reply). Each batch taken off the queue returns one credit.
 * `#owed` counts the batches the worker may still send without hearing from us; while it is
 * positive the channel is held, so a process awaiting rows stays alive and one that abandoned a
 * result does not.
 */
import { type HandOutMode, handOut } from './batch-lease.js'
import type { Cancel } from './cancel.js'
import { type AbortError, ClosedError, reviveError } from './errors.js'
import type { ReplyListener, WorkerChannel } from './thread/channel.js'
import type { BatchMessage, Reply } from './thread/protocol.js'

export class ResultStream implements ReplyListener {
  readonly #channel: WorkerChannel
  readonly #id: number
  readonly #sql: string
  readonly #queue: BatchMessage[] = []
  /** No batch will arrive any more (the worker finished or failed, or we closed). */
  #done: boolean
  #closed = false
  /** Closed because every row was read: reads keep returning "no more rows". */
  #exhausted = false
  #failure: Error | null = null
  /** Leases of batches read as rows, given back with the next credit (see batch-lease.ts). */
  #returns: number[] = []
  #owed: number
  #held = false
  /** Readers waiting for the next batch, the end, or a failure. */
  #waiters: (() => void)[] = []
  #closeListeners: (() => void)[] = []

  constructor(
    channel: WorkerChannel,
    id: number,
    sql: string,
    reply: Extract<Reply, { kind: 'started' }>,
    prefetchBatches: number,
  ) {
    this.#channel = channel
    this.#id = id
    this.#sql = sql
    if (reply.batch && reply.batch.numRows > 0) this.#queue.push(reply.batch)
    this.#done = reply.done
    this.#owed = reply.done ? 0 : prefetchBatches - 1
    this.#updateHold()
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Calls `listener` once when the stream closes. */
  onClose(listener: () => void): void {
    if (this.#closed) listener()
    else this.#closeListeners.push(listener)
  }

  /** The error every read rejects with after an abort; null otherwise. */
  get failure(): Error | null {
    return this.#failure
  }

  onReply(reply: Reply): boolean {
    if (reply.kind === 'batch') {
      this.#owed--
      if (!this.#closed) this.#queue.push(reply.batch)
      else this.recycle(reply.batch)
      if (reply.done) this.#done = true
    } else if (reply.kind === 'error') {
      this.#failure ??= reviveError(reply.error, this.#sql)
      this.#done = true
    } else {
      this.#done = true
    }
    this.#updateHold()
    this.#wakeReaders()
    return this.#done
  }

  onFailure(error: Error): void {
    this.#failure ??= error
    this.#done = true
    this.#updateHold()
    this.#wakeReaders()
  }

  #wakeReaders(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  #updateHold(): void {
    const want = !this.#done && !this.#closed && this.#owed > 0
    if (want === this.#held) return
    this.#held = want
    if (want) this.#channel.hold()
    else this.#channel.release()
  }

  /**
   * The next unread batch, waiting for the worker if needed; null at the end. A cancel stops
   * the wait, closes the stream (the worker stops producing) and rejects with its error.
   */
  async take(cancel: Cancel | null): Promise<BatchMessage | null> {
    for (;;) {
      if (this.#exhausted) return null
      if (this.#closed) throw this.#failure ?? new ClosedError('This result is closed')
      const batch = this.#queue.shift()
      if (batch) {
        if (!this.#done) {
          this.#owed++
          const release = this.#takeReturns()
          this.#channel.send({ op: 'credit', id: this.#id, batches: 1, ...(release ? { release } : {}) })
          this.#updateHold()
        }
        return batch
      }
      if (this.#failure) {
        // The statement failed: nothing more will come, so the result is over (closed, with
        // its buffers given back); every later read rejects with the same error.
        if (this.#done) this.close()
        throw this.#failure
      }
      if (this.#done) {
        // Exhausted: release everything, as a DB-API cursor does once its rows run out, but
        // keep answering reads with "no more rows" (a soft close, not an error).
        this.#exhausted = true
        this.close()
        return null
      }
      let stopWatching: (() => void) | undefined
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve)
        stopWatching = cancel?.onCancel((error) => {
          this.abort(error)
          resolve()
        })
      })
      stopWatching?.()
    }
  }

  /**
   * The reader decoded `batch` into rows and keeps no view of it: its buffer goes back to the
   * worker, with the next credit, or now when no credit will follow.
   */
  recycle(batch: BatchMessage): void {
    if (batch.lease === 0) return
    this.#returns.push(batch.lease)
    if (this.#done) this.#flushReturns()
  }

  /** The reader hands `batch` out as Arrow data: its buffer goes back once collected. */
  handOut(batch: BatchMessage, mode: HandOutMode): void {
    handOut(this.#channel, batch, mode)
  }

  #takeReturns(): number[] | null {
    if (this.#returns.length === 0) return null
    const leases = this.#returns
    this.#returns = []
    return leases
  }

  #flushReturns(): void {
    const leases = this.#takeReturns()
    if (leases) this.#channel.send({ op: 'release', id: 0, leases })
  }

  /** Closes the stream so that every further read rejects with `error`. */
  abort(error: AbortError): void {
    if (this.#closed) return
    this.#failure = error
    this.close()
  }

  /** Discards the remaining batches and tells the worker to stop producing them. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    // Queued batches were never seen by the reader: their buffers go straight back.
    for (const batch of this.#queue) if (batch.lease !== 0) this.#returns.push(batch.lease)
    this.#queue.length = 0
    if (!this.#done) {
      this.#done = true
      this.#channel.forget(this.#id)
      // The message first: if the interrupt stops a batch mid-step, the worker then finds the
      // close and drops the stream instead of retrying the read.
      this.#channel.send({ op: 'closeResult', id: this.#id })
      this.#channel.interrupt(this.#id)
    }
    this.#flushReturns()
    this.#updateHold()
    this.#wakeReaders()
    const listeners = this.#closeListeners
    this.#closeListeners = []
    for (const listener of listeners) listener()
  }
}
