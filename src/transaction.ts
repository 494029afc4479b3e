/**
 * A transaction on a Connection: a real BEGIN ... COMMIT, or a SAVEPOINT when nested.
 */
import { ClosedError } from './errors.js'

/** What a Transaction needs from its connection. */
export interface TransactionHost {
  /** Runs one statement; rejects with ClosedError once the connection is closed. */
  run(sql: string): Promise<void>
  readonly inTransaction: boolean
  /** The connection was closed (which rolled back everything it had open). */
  readonly closed: boolean
}

/**
 * Returned by `connection.begin()` and `connection.beginNested()`.
 *
 * @example
 * ```ts
 * const tx = await conn.begin()
 * try {
 *   await conn.execute('UPDATE accounts SET balance = balance - 10 WHERE id = 1')
 *   await tx.commit()
 * } finally {
 *   await tx.close() // rolls back if not committed
 * }
 * ```
 */
export class Transaction {
  readonly #host: TransactionHost
  /** Savepoint name when nested, null for the outermost transaction. */
  readonly #savepoint: string | null
  #active = true

  /** @internal Transactions come from `begin()` and `beginNested()`. */
  constructor(host: TransactionHost, savepoint: string | null) {
    this.#host = host
    this.#savepoint = savepoint
  }

  /** True until commit, rollback or close. */
  get isActive(): boolean {
    return this.#active
  }

  #finish(action: string): void {
    if (!this.#active) throw new ClosedError(`Cannot ${action}: this transaction is no longer active`)
    this.#active = false
  }

  /**
   * Commits (or releases the savepoint). If that fails, the transaction is rolled back and the
   * commit's error is thrown.
   *
   * @example
   * ```ts
   * const trans = await conn.begin()
   * await conn.execute('UPDATE accounts SET balance = balance - 10 WHERE id = 1')
   * await conn.execute('UPDATE accounts SET balance = balance + 10 WHERE id = 2')
   * await trans.commit()
   * ```
   */
  async commit(): Promise<void> {
    this.#finish('commit')
    try {
      await this.#host.run(this.#savepoint ? `RELEASE SAVEPOINT ${this.#savepoint}` : 'COMMIT')
    } catch (error) {
      await this.#undo().catch(() => {})
      throw error
    }
  }

  /**
   * Rolls back (to the savepoint, when nested).
   *
   * @example
   * ```ts
   * const trans = await conn.begin()
   * await conn.execute('DELETE FROM users')
   * await trans.rollback() // the users are back
   * ```
   */
  async rollback(): Promise<void> {
    this.#finish('roll back')
    await this.#undo()
  }

  async #undo(): Promise<void> {
    if (this.#savepoint) {
      await this.#host.run(`ROLLBACK TO SAVEPOINT ${this.#savepoint}`)
      await this.#host.run(`RELEASE SAVEPOINT ${this.#savepoint}`)
    } else if (this.#host.inTransaction) {
      await this.#host.run('ROLLBACK')
    }
  }

  /**
   * Rolls back if still active; does nothing otherwise, nor after the connection was closed
   * (closing it already rolled back).
   *
   * @example
   * ```ts
   * const trans = await conn.begin()
   * try {
   *   await conn.execute('INSERT INTO log (msg) VALUES (?)', ['hello'])
   *   await trans.commit()
   * } finally {
   *   await trans.close() // rolls back unless committed
   * }
   * ```
   */
  async close(): Promise<void> {
    if (this.#active && this.#host.closed) this.#active = false
    if (this.#active) await this.rollback()
  }

  /**
   * Rolls back if still active (as `close()`), for `await using`: leaving the block without
   * `commit()` rolls back.
   *
   * @example
   * ```ts
   * await using trans = await conn.begin()
   * await conn.execute('UPDATE accounts SET balance = balance - 10 WHERE id = 1')
   * await trans.commit()
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
