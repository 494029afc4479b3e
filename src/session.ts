/**
 * A Session issues calls on one worker channel in order and turns replies into results, errors
 * and transaction state. The engine's implicit calls and each Connection use one.
 *
 * Cancelling a call (signal or deadline) sends `cancel` to the worker, and interrupts the
 * statement when the native path can, but the call settles only when the worker answers: a
 * queued call is skipped and answered with an abort, a running one stops and says so. Waiting
 * for that answer is what keeps the connection exact: when the caller sees the AbortError,
 * `inTransaction` already reflects what the worker did (SQLite may have rolled back the whole
 * transaction), and no late reply can reach another call (replies are routed by request id).
 */
import type { IntMode, RowMode } from './arrow/row-decoder.js'
import { Cancel, type CancelOptions } from './cancel.js'
import { type AbortError, captureCallSite, reviveError, withCallerStack } from './errors.js'
import { checkChoice, checkInteger, type ExecuteOptions, type ResolvedEngineOptions } from './options.js'
import { AsyncResult } from './result.js'
import { ResultStream } from './result-stream.js'
import type { ReplyListener, WorkerChannel } from './thread/channel.js'
import type { BoundParams, Reply, Request } from './thread/protocol.js'

type StartedReply = Extract<Reply, { kind: 'started' }>
type Answer = Exclude<Reply, { kind: 'error' }>

export interface SessionHost {
  /** The channel to use now; throws ClosedError when the owner is closed. */
  channel(): WorkerChannel
  options: ResolvedEngineOptions
  /**
   * The Engine or Connection the calls belong to. The channel's listeners reach it through the
   * session while calls are in flight, so a connection used as a temporary
   * (`await (await engine.connect()).scalar(...)`) is not collected, and its leak finalizer not
   * run, while its call is still running.
   */
  owner: object
}

/** How one call turns its first successful reply into a value (and maybe a stream). */
type Interpret<T> = (
  reply: Answer,
  id: number,
  channel: WorkerChannel,
  aborting: AbortError | null,
) => { value: T; next: ReplyListener | null }

export class Session {
  readonly #host: SessionHost
  #inTransaction = false
  readonly #streams = new Set<ResultStream>()
  /** Calls sent and not yet answered, so that they can all be cancelled at once. */
  readonly #inFlight = new Set<(error: AbortError) => void>()

  constructor(host: SessionHost) {
    this.#host = host
  }

  /** Whether a transaction was open after the last call that completed. */
  get inTransaction(): boolean {
    return this.#inTransaction
  }

  /** Closes every result still streaming (their rows are discarded). */
  closeResults(): void {
    for (const stream of [...this.#streams]) stream.close()
  }

  /** Cancels every call in flight and aborts every open result with `error`. */
  cancelAll(error: AbortError): void {
    for (const cancel of [...this.#inFlight]) cancel(error)
    for (const stream of [...this.#streams]) stream.abort(error)
  }

  /**
   * Sends one request and settles with what `interpret` makes of its first reply. Replies after
   * the first go to the listener `interpret` returns, if any (a streaming result).
   */
  #send<T>(
    make: (id: number) => Request,
    interpret: Interpret<T>,
    log: { sql: string; params: unknown } | null,
    options: CancelOptions | undefined,
  ): Promise<T> {
    let channel: WorkerChannel
    let cancel: Cancel | null
    try {
      channel = this.#host.channel()
      cancel = Cancel.from(options, this.#host.options.timeoutMs)
    } catch (error) {
      return Promise.reject(error)
    }
    if (cancel?.error) return Promise.reject(cancel.error)
    const id = channel.nextId()
    const started = performance.now()
    const logger = this.#host.options.logger
    return new Promise<T>((resolve, reject) => {
      let next: ReplyListener | null = null
      let aborting: AbortError | null = null
      const stop = (error: AbortError): void => {
        if (aborting) return
        aborting = error
        channel.send({ op: 'cancel', id })
        channel.interrupt(id)
      }
      const settle = (): void => {
        cancel?.dispose()
        this.#inFlight.delete(stop)
        channel.release()
        if (log && logger) {
          try {
            logger(log.sql, log.params, performance.now() - started)
          } catch (error) {
            // A broken logger must not break the call it logs, nor the connection.
            process.emitWarning(
              `sqlaio: the logger threw: ${error instanceof Error ? error.message : String(error)}`,
              {
                code: 'SQLAIO_LOGGER_ERROR',
              },
            )
          }
        }
      }
      const fail = (error: unknown): void => {
        settle()
        reject(error)
      }
      this.#inFlight.add(stop)
      cancel?.onCancel(stop)
      const listener: ReplyListener = {
        onReply: (reply) => {
          if (next) return next.onReply(reply)
          if ('inTransaction' in reply) this.#inTransaction = reply.inTransaction
          if (reply.kind === 'error') {
            // The worker names an abort 'AbortError' when it can tell; an interrupt that landed
            // after a later cancel overwrote `cancelId` arrives as SQLITE_INTERRUPT, but this
            // call knows it was being cancelled.
            const stopped = reply.error.name === 'AbortError' || reply.error.code === 'SQLITE_INTERRUPT'
            fail(aborting && stopped ? aborting : reviveError(reply.error, log?.sql))
            return true
          }
          try {
            const made = interpret(reply, id, channel, aborting)
            next = made.next
            if (next) channel.route(id, next)
            settle()
            resolve(made.value)
          } catch (error) {
            fail(error)
          }
          return next === null
        },
        onFailure: (error) => {
          if (next) next.onFailure(error)
          else fail(error)
        },
      }
      try {
        channel.request(make(id), listener)
      } catch (error) {
        // Nothing was sent and the channel already dropped its hold: do not release again.
        cancel?.dispose()
        this.#inFlight.delete(stop)
        reject(error)
      }
    })
  }

  /**
   * Runs a statement and resolves to its result. Asynchronous on purpose: an error is given the
   * caller's frames here, after the await, where V8's async stack trace already holds them (the
   * awaiting callers). Capturing a stack up front instead cost every call about 2.5 µs.
   */
  async execute(sql: string, params: BoundParams, options: ExecuteOptions | undefined): Promise<AsyncResult> {
    let result: AsyncResult
    try {
      result = await this.#execute(sql, params, options)
    } catch (error) {
      throw withCallerStack(error, captureCallSite(this.execute))
    }
    result.watchForLeak(() => captureCallSite(this.execute))
    return result
  }

  #execute(sql: string, params: BoundParams, options: ExecuteOptions | undefined): Promise<AsyncResult> {
    const defaults = this.#host.options
    const o = options ?? {}
    let intMode: IntMode
    let rowMode: RowMode
    let batchRows: number
    try {
      intMode =
        o.intMode === undefined
          ? defaults.intMode
          : checkChoice('execute', 'intMode', o.intMode, ['number', 'bigint'])
      rowMode =
        o.rowMode === undefined
          ? defaults.rowMode
          : checkChoice('execute', 'rowMode', o.rowMode, ['object', 'array'])
      batchRows =
        o.batchRows === undefined
          ? defaults.batchRows
          : checkInteger('execute', 'batchRows', o.batchRows, 1, 1 << 24)
    } catch (error) {
      return Promise.reject(error)
    }
    const prefetchBatches = defaults.prefetchBatches
    return this.#send(
      (id) => ({ op: 'execute', id, sql, params, batchRows, prefetchBatches }),
      (reply, id, channel, aborting) => {
        if (reply.kind !== 'started') throw new Error(`unexpected reply ${reply.kind} to execute`)
        const started = reply as StartedReply
        let stream: ResultStream | null = null
        if (started.returnsRows) {
          stream = new ResultStream(channel, id, sql, started, prefetchBatches)
          // Rows nobody asked for any more: stop them and report the abort.
          if (aborting) {
            stream.close()
            throw aborting
          }
          if (!started.done) this.#track(stream, o.signal)
        }
        const result = new AsyncResult({
          reply: started,
          stream,
          intMode,
          rowMode,
        })
        return { value: result, next: stream && !started.done ? stream : null }
      },
      { sql, params },
      options,
    )
  }

  /** Keeps `stream` to close with the session, and aborts it if the call's signal fires later. */
  #track(stream: ResultStream, signal: AbortSignal | undefined): void {
    this.#streams.add(stream)
    const cancel = signal ? Cancel.from({ signal }) : null
    cancel?.onCancel((error) => stream.abort(error))
    stream.onClose(() => {
      this.#streams.delete(stream)
      cancel?.dispose()
    })
  }

  /**
   * Sends a request answered by one 'ok' reply and resolves to its value; asynchronous for the
   * reason given at `execute`.
   */
  async call(
    make: (id: number) => Request,
    log: { sql: string; params: unknown } | null,
    options?: CancelOptions,
  ): Promise<unknown> {
    try {
      return await this.#call(make, log, options)
    } catch (error) {
      throw withCallerStack(error, captureCallSite(this.call))
    }
  }

  #call(
    make: (id: number) => Request,
    log: { sql: string; params: unknown } | null,
    options?: CancelOptions,
  ): Promise<unknown> {
    return this.#send(
      make,
      (reply) => {
        if (reply.kind !== 'ok') throw new Error(`unexpected reply ${reply.kind}`)
        return { value: reply.value, next: null }
      },
      log,
      options,
    )
  }
}
