/**
 * A Connection: calls pinned to one worker, run in order, so a transaction spans awaits safely.
 */
import { Cancel, type CancelOptions } from './cancel.js'
import type { DialectName } from './dialect.js'
import { type AbortError, ClosedError, SqlaioError } from './errors.js'
import type { ResolvedEngineOptions } from './options.js'
import { Queryable } from './queryable.js'
import { Session } from './session.js'
import type { WorkerChannel } from './thread/channel.js'
import { Transaction, type TransactionHost } from './transaction.js'

/**
 * Connections dropped without close() are cleaned up when collected: their listeners fail,
 * the worker rolls back and drops its open result, and goes back to the pool. The held value
 * must not reference the Connection itself, or it would never be collected.
 */
const dropped = new FinalizationRegistry<{ channel: WorkerChannel; host: ConnectionHost; openedAt: string }>(
  ({ channel, host, openedAt }) => {
    process.emitWarning(`A Connection was garbage-collected without close(); it was opened ${openedAt}`, {
      code: 'SQLAIO_CONNECTION_LEAK',
    })
    if (channel.failure) return
    channel.abandonListeners(new ClosedError('The connection was garbage-collected without close()'))
    channel.request(
      { op: 'reset', id: channel.nextId() },
      {
        onReply: (reply) => {
          channel.release()
          host.release(channel, reply.kind === 'ok')
          return true
        },
        onFailure: () => host.release(channel, false),
      },
    )
  },
)

/** What a Connection gets from its engine. */
export interface ConnectionHost {
  options: ResolvedEngineOptions
  dialect: DialectName
  /** Takes the worker back once the connection is closed (reset, or ended if it failed). */
  release(channel: WorkerChannel, healthy: boolean): void
}

/**
 * A connection on its own worker thread, from `engine.connect()`.
 *
 * @example
 * ```ts
 * await using conn = await engine.connect()
 * await conn.transaction(async () => {
 *   await conn.execute('INSERT INTO users (name) VALUES (?)', ['Dan Rydell'])
 * })
 * ```
 */
export class Connection extends Queryable {
  readonly #channel: WorkerChannel
  readonly #host: ConnectionHost
  readonly #session: Session
  #closed = false
  #savepoints = 0
  /**
   * Set while a `transaction(fn)` was cancelled but `fn` has not returned yet: its remaining
   * calls must fail rather than run outside the transaction that was rolled back under them.
   */
  #abandoned: AbortError | null = null

  /**
   * @param openedAt where `connect()` was called (a stack), for the leak warning.
   * @internal Connections come from `engine.connect()`.
   */
  constructor(channel: WorkerChannel, host: ConnectionHost, openedAt: string) {
    super()
    this.#channel = channel
    this.#host = host
    dropped.register(this, { channel, host, openedAt }, this)
    this.#session = new Session({
      channel: () => {
        const failure = channel.failure
        if (failure) throw new ClosedError(`This connection is closed: ${failure.message}`)
        return channel
      },
      options: host.options,
      owner: this,
    })
  }

  /** The SQL dialect of the connection's engine: 'sqlite' or 'postgresql'. */
  get dialect(): DialectName {
    return this.#host.dialect
  }

  /** Whether a transaction is open (as of the last call that completed). */
  get inTransaction(): boolean {
    // A closed connection holds no transaction: close() rolled it back, or the worker died.
    return !this.closed && this.#session.inTransaction
  }

  /** Whether the connection is closed (by `close()`, by the engine, or by a worker crash). */
  get closed(): boolean {
    return this.#closed || this.#channel.failure !== null
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('This connection is closed')
    const failure = this.#channel.failure
    if (failure) throw new ClosedError(`This connection is closed: ${failure.message}`)
  }

  protected session(): Session {
    this.#checkOpen()
    if (this.#abandoned) throw this.#abandoned
    return this.#session
  }

  /**
   * Runs a transaction-control statement. It bypasses `session()` but not the closed check: a
   * Transaction that outlived its connection must not reach the worker, which may already serve
   * another connection from the pool. While a `transaction(fn)` is abandoned, only that
   * transaction's own statements (`own`: its rollback) may run; `fn`'s late BEGIN, SAVEPOINT or
   * COMMIT must not open or end anything behind the caller's back.
   */
  #run(sql: string, own: boolean): Promise<void> {
    try {
      this.#checkOpen()
      if (this.#abandoned && !own) throw this.#abandoned
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#session.call((id) => ({ op: 'exec', id, sql }), { sql, params: [] }).then(() => undefined)
  }

  #txHost(own: boolean): TransactionHost {
    const session = this.#session
    const isClosed = (): boolean => this.closed
    return {
      run: (sql) => this.#run(sql, own),
      get inTransaction() {
        return session.inTransaction
      },
      get closed() {
        return isClosed()
      },
    }
  }

  /**
   * Begins a transaction (`BEGIN`). Rejects if one is already open (a SqlaioError with code
   * `ERR_SQLAIO_TRANSACTION_OPEN`): use `beginNested()`.
   *
   * @example
   * ```ts
   * await using tx = await conn.begin()
   * await conn.execute('DELETE FROM sessions')
   * await tx.commit()
   * ```
   */
  begin(): Promise<Transaction> {
    return this.#begin(false)
  }

  /**
   * Begins a nested transaction: a SAVEPOINT, released on commit and rolled back to on rollback.
   *
   * @example
   * ```ts
   * await using trans = await conn.begin()
   * const savepoint = await conn.beginNested()
   * await conn.execute('DELETE FROM drafts')
   * await savepoint.rollback() // undoes the DELETE only
   * await trans.commit()
   * ```
   */
  beginNested(): Promise<Transaction> {
    return this.#beginNested(false)
  }

  async #begin(own: boolean): Promise<Transaction> {
    this.#checkOpen()
    if (this.inTransaction) {
      throw new SqlaioError(
        'begin(): a transaction is already open on this connection; use beginNested()',
        'ERR_SQLAIO_TRANSACTION_OPEN',
      )
    }
    await this.#run('BEGIN', own)
    return new Transaction(this.#txHost(own), null)
  }

  async #beginNested(own: boolean): Promise<Transaction> {
    this.#checkOpen()
    const name = `sqlaio_sp_${++this.#savepoints}`
    await this.#run(`SAVEPOINT ${name}`, own)
    return new Transaction(this.#txHost(own), name)
  }

  /**
   * Runs `fn` in a transaction: commits when it resolves, rolls back and rethrows when it
   * throws. Nests as a savepoint when a transaction is already open. Cancelling it (`signal`,
   * `timeoutMs`) cancels the connection's calls in flight, rolls back, and rejects with the
   * AbortError; calls `fn` still makes on this connection then fail until `fn` returns.
   *
   * @example
   * ```ts
   * const id = await conn.transaction(async (c) => {
   *   const r = await c.execute('INSERT INTO users (name) VALUES (?)', ['Casey McCall'])
   *   return r.lastInsertRowid
   * })
   * ```
   */
  async transaction<T>(fn: (connection: Connection) => Promise<T> | T, options?: CancelOptions): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('transaction: fn must be a function')
    const cancel = Cancel.from(options)
    if (cancel?.error) throw cancel.error
    if (this.#abandoned) throw this.#abandoned
    const tx = this.inTransaction ? await this.#beginNested(true) : await this.#begin(true)
    const work = Promise.resolve().then(() => fn(this))
    let cancelled: AbortError | null = null
    const aborted = new Promise<never>((_, reject) => {
      cancel?.onCancel((error) => {
        cancelled = error
        this.#abandoned = error
        const free = (): void => {
          if (this.#abandoned === error) this.#abandoned = null
        }
        work.then(free, free)
        this.#session.cancelAll(error)
        reject(error)
      })
    })
    aborted.catch(() => {})
    let value: T
    try {
      value = await Promise.race([work, aborted])
    } catch (error) {
      // Stop watching first: a cancel arriving now must not cancel the rollback itself.
      cancel?.dispose()
      // The rollback's own failure must not hide the error that caused it.
      if (tx.isActive) await tx.rollback().catch(() => {})
      throw cancelled ?? error
    } finally {
      cancel?.dispose()
    }
    await tx.commit()
    return value
  }

  /**
   * Closes the connection: open results are discarded, an open transaction is rolled back, and
   * the worker goes back to the engine's pool. Rejects with ClosedError if already closed.
   *
   * @example
   * ```ts
   * const conn = await engine.connect()
   * try {
   *   await conn.execute('UPDATE counters SET n = n + 1')
   * } finally {
   *   await conn.close() // rolls back an open transaction, returns the worker to the pool
   * }
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) throw new ClosedError('This connection is already closed')
    this.#closed = true
    dropped.unregister(this)
    this.#session.closeResults()
    if (this.#channel.failure) return
    let healthy = true
    try {
      await this.#session.call((id) => ({ op: 'reset', id }), null)
    } catch {
      healthy = false
    }
    this.#host.release(this.#channel, healthy)
  }

  /**
   * Closes the connection (as `close()`), for `await using`.
   *
   * @example
   * ```ts
   * await using conn = await engine.connect()
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) await this.close()
  }
}
