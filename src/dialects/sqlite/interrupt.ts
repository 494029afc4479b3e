/**
 * Interrupts, worker side. With the addon attached, the main thread can call sqlite3_interrupt()
 * on this worker's connection (see WorkerChannel.interrupt): whatever statement is running then
 * fails with SQLITE_INTERRUPT, on either path (native cursors, or better-sqlite3 for writes,
 * scripts and the JS writers). This module turns that failure into an abort for the caller.
 *
 * Who writes what: the executor stores the running request's id in `Ctl.runningId` before it
 * dispatches the request to the driver; the main thread stores the id it cancels in
 * `Ctl.cancelId` before it interrupts. The interrupt may land late (after the statement it was
 * meant for has finished): so a SQLITE_INTERRUPT is an abort only when `cancelId` names the
 * request that failed; otherwise it stays a plain SQLite error (native read-only cursors retry
 * instead, see native-driver.ts).
 */

import { type BoundParams, Ctl } from '../../thread/protocol.js'
import type { Driver, RowCursor, StatementOutcome } from '../../worker/driver.js'
import type { ParamSets } from '../../worker/param-sets.js'

type MaybePromise<T> = T | Promise<T>

/** Whether `error` is SQLite's SQLITE_INTERRUPT (from better-sqlite3 or the addon). */
export function isInterrupt(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'SQLITE_INTERRUPT'
}

/**
 * Whether `error` is how an interrupted statement can fail: SQLITE_INTERRUPT, or SQLITE_BUSY
 * from the addon's busy handler, which gives up waiting for a lock once interrupted.
 */
function isInterruptedWait(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return isInterrupt(error) || (typeof code === 'string' && code.startsWith('SQLITE_BUSY'))
}

/**
 * The error a request interrupted on purpose fails with. Its name is 'AbortError', which the main
 * thread revives as the AbortError of the call's signal.
 */
function abortError(cause: unknown): Error {
  const error = new Error('The statement was interrupted because its call was cancelled', { cause })
  error.name = 'AbortError'
  return Object.assign(error, { code: 'ABORT_ERR' })
}

/** A Driver that reports SQLITE_INTERRUPT of a cancelled request as an abort. */
export class InterruptibleDriver implements Driver {
  readonly #inner: Driver
  readonly #control: Int32Array

  constructor(inner: Driver, control: Int32Array) {
    this.#inner = inner
    this.#control = control
  }

  get inTransaction(): boolean {
    return this.#inner.inTransaction
  }

  get raw(): unknown {
    return this.#inner.raw
  }

  /** Runs `fn` for the request running now, mapping its interrupt error (sync or async). */
  #guard<T>(
    fn: () => MaybePromise<T>,
    requestId = Atomics.load(this.#control, Ctl.runningId),
  ): MaybePromise<T> {
    const map = (error: unknown): never => {
      if (
        isInterruptedWait(error) &&
        requestId !== 0 &&
        Atomics.load(this.#control, Ctl.cancelId) === requestId
      ) {
        throw abortError(error)
      }
      throw error
    }
    let out: MaybePromise<T>
    try {
      out = fn()
    } catch (error) {
      return map(error)
    }
    return out instanceof Promise ? out.catch(map) : out
  }

  execute(sql: string, params: BoundParams, batchRows: number): MaybePromise<StatementOutcome> {
    const requestId = Atomics.load(this.#control, Ctl.runningId)
    const wrap = (outcome: StatementOutcome): StatementOutcome =>
      outcome.returnsRows ? { ...outcome, cursor: this.#wrapCursor(outcome.cursor, requestId) } : outcome
    const outcome = this.#guard(() => this.#inner.execute(sql, params, batchRows), requestId)
    return outcome instanceof Promise ? outcome.then(wrap) : wrap(outcome)
  }

  #wrapCursor(cursor: RowCursor, requestId: number): RowCursor {
    return {
      nextBatch: (maxRows) => this.#guard(() => cursor.nextBatch(maxRows), requestId),
      get done() {
        return cursor.done
      },
      close: () => cursor.close(),
    }
  }

  exec(sql: string): MaybePromise<void> {
    return this.#guard(() => this.#inner.exec(sql))
  }

  executeMany(sql: string, sets: ParamSets): MaybePromise<number> {
    return this.#guard(() => this.#inner.executeMany(sql, sets))
  }

  rollbackAll(): MaybePromise<void> {
    return this.#guard(() => this.#inner.rollbackAll())
  }

  close(): void {
    this.#inner.close()
  }
}
