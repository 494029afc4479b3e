/**
 * A Connection: calls pinned to one worker, run in order, so a transaction spans awaits safely.
 */
import { ClosedError, captureCallSite } from './errors.js'
import type { ResolvedEngineOptions } from './options.js'
import { Queryable } from './queryable.js'
import { Session } from './session.js'
import type { WorkerChannel } from './thread/channel.js'
import { Transaction } from './transaction.js'

/** What a Connection gets from its engine. */
export interface ConnectionHost {
  options: ResolvedEngineOptions
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

  constructor(channel: WorkerChannel, host: ConnectionHost) {
    super()
    this.#channel = channel
    this.#host = host
    this.#session = new Session({
      channel: () => {
        const failure = channel.failure
        if (failure) throw new ClosedError(`This connection is closed: ${failure.message}`)
        return channel
      },
      options: host.options,
    })
  }

  /** Whether a transaction is open (as of the last call that completed). */
  get inTransaction(): boolean {
    return this.#session.inTransaction
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
    return this.#session
  }

  #run = (sql: string): Promise<void> =>
    this.#session
      .call(captureCallSite(this.#run), (id) => ({ op: 'exec', id, sql }), { sql, params: [] })
      .then(() => undefined)

  #txHost(): { run: (sql: string) => Promise<void>; readonly inTransaction: boolean } {
    const session = this.#session
    const run = this.#run
    return {
      run,
      get inTransaction() {
        return session.inTransaction
      },
    }
  }

  /**
   * Begins a transaction (`BEGIN`). Rejects if one is already open: use `beginNested()`.
   *
   * @example
   * ```ts
   * await using tx = await conn.begin()
   * await conn.execute('DELETE FROM sessions')
   * await tx.commit()
   * ```
   */
  async begin(): Promise<Transaction> {
    this.#checkOpen()
    if (this.inTransaction) {
      throw new Error('begin(): a transaction is already open on this connection; use beginNested()')
    }
    await this.#run('BEGIN')
    return new Transaction(this.#txHost(), null)
  }

  /** Begins a nested transaction: a SAVEPOINT, released on commit and rolled back to on rollback. */
  async beginNested(): Promise<Transaction> {
    this.#checkOpen()
    const name = `sqlaio_sp_${++this.#savepoints}`
    await this.#run(`SAVEPOINT ${name}`)
    return new Transaction(this.#txHost(), name)
  }

  /**
   * Runs `fn` in a transaction: commits when it resolves, rolls back and rethrows when it
   * throws. Nests as a savepoint when a transaction is already open.
   *
   * @example
   * ```ts
   * const id = await conn.transaction(async (c) => {
   *   const r = await c.execute('INSERT INTO users (name) VALUES (?)', ['Casey McCall'])
   *   return r.lastInsertRowid
   * })
   * ```
   */
  async transaction<T>(fn: (connection: Connection) => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('transaction: fn must be a function')
    const tx = this.inTransaction ? await this.beginNested() : await this.begin()
    let value: T
    try {
      value = await fn(this)
    } catch (error) {
      // The rollback's own failure must not hide the error that caused it.
      if (tx.isActive) await tx.rollback().catch(() => {})
      throw error
    }
    await tx.commit()
    return value
  }

  /**
   * Closes the connection: open results are discarded, an open transaction is rolled back, and
   * the worker goes back to the engine's pool. Rejects with ClosedError if already closed.
   */
  async close(): Promise<void> {
    if (this.#closed) throw new ClosedError('This connection is already closed')
    this.#closed = true
    this.#session.closeResults()
    if (this.#channel.failure) return
    let healthy = true
    try {
      await this.#session.call(captureCallSite(this.close), (id) => ({ op: 'reset', id }), null)
    } catch {
      healthy = false
    }
    this.#host.release(this.#channel, healthy)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) await this.close()
  }
}
