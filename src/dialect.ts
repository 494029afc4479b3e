/**
 * The dialect seam, main-thread side: what the engine asks of a database dialect. The engine
 * itself knows no SQL and no file or server; it asks its dialect how to start a worker, how to
 * introspect, and what it may do natively. The worker side of the seam is `worker/driver.ts`.
 *
 * Cancellation is split by where it can be exact: SQLite's native path interrupts from the main
 * thread through the addon's registry id (`WorkerChannel.interrupt`); PostgreSQL's cancel request
 * is sent by the worker itself, which alone knows which statement is on the wire (see
 * `dialects/postgres/cancel.ts`). Errors are revived by the name the worker gives them
 * (`errors.ts` `reviveError`), so a dialect's driver chooses how its errors come back.
 */
import type { ResolvedEngineOptions } from './options.js'
import type { ChannelOptions } from './thread/channel.js'

/**
 * The dialect names `engine.dialect` reports.
 *
 * @inline
 */
export type DialectName = 'sqlite' | 'postgresql'

/** A statement and its positional parameters. */
export interface DialectQuery {
  sql: string
  params: unknown[]
}

/**
 * One engine's dialect: created by `url.ts` from the engine URL, owned by the engine.
 *
 * @example
 * ```ts
 * const dialect = dialectFor('postgresql://postgres@127.0.0.1/test')
 * dialect.name // 'postgresql'
 * ```
 */
export interface Dialect {
  readonly name: DialectName
  /** Whether the native addon (a SQLite extension) can serve this dialect. */
  readonly supportsNative: boolean
  /** What a new worker needs to open one connection. */
  workerOptions(options: ResolvedEngineOptions, native: 'auto' | 'off' | 'require'): ChannelOptions
  /** A query answering one row when a table or view `name` exists, none otherwise. */
  hasTableQuery(name: string): DialectQuery
  /** A query answering the names of the user tables, sorted, in one column. */
  tableNamesQuery(): DialectQuery
  /** Releases what the dialect created for the engine (e.g. an in-memory database's file). */
  dispose(): void
}
