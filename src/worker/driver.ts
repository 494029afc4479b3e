/**
 * The driver seam: everything the worker's executor needs from a database, and nothing more.
 * SQLite (better-sqlite3, synchronous) is the first driver; an asynchronous one (PostgreSQL
 * through `pg`) fits the same interface because every method may return a promise and the
 * executor awaits only when it gets one.
 */

import type { BatchMessage, BoundParams } from '../thread/protocol.js'
import type { ParamSets } from './param-sets.js'

type MaybePromise<T> = T | Promise<T>

/** What running one statement produced. */
export type StatementOutcome =
  /** `lastInsertRowid` is SQLite's; other dialects report 0n. */
  | { returnsRows: false; rowcount: number; lastInsertRowid: bigint }
  | { returnsRows: true; columns: string[]; cursor: RowCursor }

/** An open query, read one batch at a time. */
export interface RowCursor {
  /**
   * The next batch of at most `maxRows` rows (possibly empty when the rows ran out exactly at
   * the previous batch's end), or `null` when called after `done`.
   */
  nextBatch(maxRows: number): MaybePromise<BatchMessage | null>
  /** True once the statement has no more rows (known at the latest after an empty batch). */
  readonly done: boolean
  /** Stops the statement early; safe to call after it is exhausted. */
  close(): void
}

export interface Driver {
  /** Whether a transaction is open on the connection (PostgreSQL: also when it has failed). */
  readonly inTransaction: boolean
  /**
   * Present on an asynchronous driver (its I/O needs the worker's event loop): asks the server
   * to stop the statement on the wire. The executor then idles on `Atomics.waitAsync` instead of
   * `Atomics.wait`, and keeps reading its port while a statement is in flight, so that a
   * `cancel` for the running request reaches this method.
   */
  cancelRunning?(): void
  /** The raw connection handed to `setup` modules and `runInWorker` functions. */
  readonly raw: unknown
  /**
   * Runs one statement. `batchRows` is the size of every batch its cursor will be asked for: a
   * driver that decodes rows as they arrive (PostgreSQL) needs it before the first `nextBatch`.
   */
  execute(sql: string, params: BoundParams, batchRows: number): MaybePromise<StatementOutcome>
  /** Runs a script of several statements. */
  exec(sql: string): MaybePromise<void>
  /** Runs one statement once per parameter set, atomically; resolves to the rows changed. */
  executeMany(sql: string, sets: ParamSets): MaybePromise<number>
  /** Rolls back whatever transaction is open, leaving the connection in autocommit. */
  rollbackAll(): MaybePromise<void>
  close(): MaybePromise<void>
}
