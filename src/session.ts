/**
 * A Session issues calls on one worker channel in order and turns replies into results, errors
 * and transaction state. The engine's implicit calls and each Connection use one.
 */
import { AbortError, type CallSite, reviveError, withCallerStack } from './errors.js'
import { checkChoice, checkInteger, type ExecuteOptions, type ResolvedEngineOptions } from './options.js'
import { AsyncResult } from './result.js'
import type { ReplyListener, WorkerChannel } from './thread/channel.js'
import type { BoundParams, Reply, Request } from './thread/protocol.js'

type StartedReply = Extract<Reply, { kind: 'started' }>

export interface SessionHost {
  /** The channel to use now; throws ClosedError when the owner is closed. */
  channel(): WorkerChannel
  options: ResolvedEngineOptions
}

export class Session {
  readonly #host: SessionHost
  #inTransaction = false
  readonly #results = new Set<AsyncResult>()

  constructor(host: SessionHost) {
    this.#host = host
  }

  /** Whether a transaction was open after the last call that completed. */
  get inTransaction(): boolean {
    return this.#inTransaction
  }

  /** Closes every result still open (their rows are discarded). */
  closeResults(): void {
    for (const result of [...this.#results]) result.close()
  }

  /**
   * Sends one request and settles with what `onReply` makes of its first reply. Replies after
   * the first go to the listener `onReply` returns, if any (a streaming result).
   */
  #send<T>(
    site: CallSite,
    make: (id: number) => Request,
    onReply: (
      reply: Exclude<Reply, { kind: 'error' }>,
      id: number,
      channel: WorkerChannel,
    ) => { value: T; next: ReplyListener | null },
    log: { sql: string; params: unknown } | null,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    let channel: WorkerChannel
    try {
      channel = this.#host.channel()
    } catch (error) {
      return Promise.reject(withCallerStack(error, site))
    }
    if (signal?.aborted) return Promise.reject(withCallerStack(new AbortError(signal.reason), site))
    const id = channel.nextId()
    const started = performance.now()
    const logger = this.#host.options.logger
    return new Promise<T>((resolve, reject) => {
      let next: ReplyListener | null = null
      let settled = false
      const onAbort = (): void => {
        if (settled) return
        settled = true
        channel.forget(id)
        channel.release()
        channel.send({ op: 'cancel', id })
        reject(withCallerStack(new AbortError(signal?.reason), site))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      const settle = (): void => {
        settled = true
        signal?.removeEventListener('abort', onAbort)
        channel.release()
        if (log && logger) logger(log.sql, log.params, performance.now() - started)
      }
      channel.request(make(id), {
        onReply: (reply) => {
          if (next) return next.onReply(reply)
          settle()
          if ('inTransaction' in reply) this.#inTransaction = reply.inTransaction
          if (reply.kind === 'error') {
            reject(withCallerStack(reviveError(reply.error, log?.sql), site))
            return true
          }
          try {
            const made = onReply(reply, id, channel)
            next = made.next
            resolve(made.value)
          } catch (error) {
            reject(withCallerStack(error, site))
          }
          return next === null
        },
        onFailure: (error) => {
          if (next) return next.onFailure(error)
          if (!settled) settle()
          reject(withCallerStack(error, site))
        },
      })
    })
  }

  execute(
    site: CallSite,
    sql: string,
    params: BoundParams,
    options: ExecuteOptions | undefined,
  ): Promise<AsyncResult> {
    const defaults = this.#host.options
    const o = options ?? {}
    const where = 'execute'
    const intMode =
      o.intMode === undefined
        ? defaults.intMode
        : checkChoice(where, 'intMode', o.intMode, ['number', 'bigint'])
    const rowMode =
      o.rowMode === undefined
        ? defaults.rowMode
        : checkChoice(where, 'rowMode', o.rowMode, ['object', 'array'])
    const batchRows =
      o.batchRows === undefined
        ? defaults.batchRows
        : checkInteger(where, 'batchRows', o.batchRows, 1, 1 << 24)
    const prefetchBatches = defaults.prefetchBatches
    const signal = o.signal
    return this.#send(
      site,
      (id) => ({ op: 'execute', id, sql, params, batchRows, prefetchBatches }),
      (reply, id, channel) => {
        if (reply.kind !== 'started') throw new Error(`unexpected reply ${reply.kind} to execute`)
        const result = new AsyncResult({
          channel,
          id,
          reply: reply as StartedReply,
          intMode,
          rowMode,
          prefetchBatches,
          sql,
          onClose: (closed) => {
            this.#results.delete(closed)
            signal?.removeEventListener('abort', onAbort)
          },
        })
        const onAbort = (): void => result.abort(signal?.reason)
        if (!reply.done) {
          this.#results.add(result)
          signal?.addEventListener('abort', onAbort, { once: true })
        }
        return { value: result, next: reply.done ? null : result }
      },
      { sql, params },
      signal,
    )
  }

  /** Sends a request answered by one 'ok' reply and resolves to its value. */
  call(
    site: CallSite,
    make: (id: number) => Request,
    log: { sql: string; params: unknown } | null,
    signal?: AbortSignal,
  ): Promise<unknown> {
    return this.#send(
      site,
      make,
      (reply) => {
        if (reply.kind !== 'ok') throw new Error(`unexpected reply ${reply.kind}`)
        return { value: reply.value, next: null }
      },
      log,
      signal,
    )
  }
}
