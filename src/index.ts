/**
 * `sqlaio`: SQL (SQLite, PostgreSQL) on worker threads, with results as Apache Arrow record
 * batches in shared memory. Start with {@link createEngine}.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sqlaio'
 *
 * const engine = createEngine('sqlite:///app.db')
 * const table = await (await engine.execute('SELECT * FROM events WHERE day = ?', ['2024-06-01'])).toArrow()
 * await engine.dispose()
 * ```
 *
 * @module sqlaio
 */
export type { IntMode, Row, RowMode } from './arrow/row-decoder.js'
export type { CancelOptions } from './cancel.js'
export { Connection } from './connection.js'
export { nativeAvailable } from './dialects/sqlite/native.js'
export { createEngine, Engine } from './engine.js'
export {
  AbortError,
  ClosedError,
  DatabaseError,
  ResultError,
  SqlaioError,
  TimeoutError,
  WorkerCrashedError,
} from './errors.js'
export {
  type BlobEncoding,
  type CsvOptions,
  type Destination,
  IncompatibleBatchError,
  type IpcFormat,
  type IpcOptions,
  type IpcWriteOptions,
  type NdjsonOptions,
  type ParquetCompression,
  type ParquetOptions,
  type SinkOptions,
  type WriteOptions,
  type WriteProgress,
  type WriteStats,
} from './io/index.js'
export type { EngineOptions, ExecuteOptions, Logger } from './options.js'
export type { CompiledQuery, Params, Statement } from './params.js'
export type { WorkerCall } from './queryable.js'
export { AsyncResult } from './result.js'
export { Transaction } from './transaction.js'
