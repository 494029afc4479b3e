/**
 * The errors sqlaio throws. Each has a stable `code`. Errors born in a worker carry the caller's
 * stack frames as well as the worker's message (see `withCallerStack`).
 */
import type { SerializedError } from './thread/protocol.js'

/**
 * Base class of every sqlaio error.
 *
 * @example
 * ```ts
 * try {
 *   await engine.execute(sql)
 * } catch (error) {
 *   if (error instanceof SqlaioError) console.error(error.code, error.message)
 * }
 * ```
 */
export class SqlaioError extends Error {
  /** A stable identifier of the failure, safe to branch on. */
  readonly code: string

  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/**
 * An error reported by the database.
 *
 * @example
 * ```ts
 * try {
 *   await engine.execute('INSERT INTO users (id) VALUES (1)')
 * } catch (error) {
 *   if (error instanceof DatabaseError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') { ... }
 * }
 * ```
 */
export class DatabaseError extends SqlaioError {
  /** The statement that failed, when there was one. */
  readonly sql: string | undefined
  /** PostgreSQL: the server's DETAIL line, e.g. `Key (id)=(1) already exists.` */
  readonly detail?: string
  /** PostgreSQL: the hint the server gave. */
  readonly hint?: string
  /** PostgreSQL: the name of the violated constraint. */
  readonly constraint?: string
  /** PostgreSQL: 1-based character position of the error in the statement. */
  readonly position?: number

  /**
   * @param code SQLite's extended result code, such as `SQLITE_CONSTRAINT_UNIQUE`, or
   * PostgreSQL's SQLSTATE, such as `23505`.
   * @param fields further fields the server reported (PostgreSQL: detail, constraint, position...).
   */
  constructor(message: string, code: string, sql?: string, fields?: Record<string, string | number>) {
    super(message, code)
    this.sql = sql
    if (fields) Object.assign(this, fields)
  }
}

/**
 * The engine, connection, transaction or result was closed before or during the call
 * (code `ERR_SQLAIO_CLOSED`).
 *
 * @example
 * ```ts
 * await engine.dispose()
 * await engine.execute('SELECT 1') // rejects with ClosedError
 * ```
 */
export class ClosedError extends SqlaioError {
  constructor(message: string) {
    super(message, 'ERR_SQLAIO_CLOSED')
  }
}

/**
 * The call was aborted through its `AbortSignal`; `cause` is the signal's reason (code
 * `ABORT_ERR`). It rejects only once the worker has stopped the statement.
 *
 * @example
 * ```ts
 * const controller = new AbortController()
 * const pending = engine.execute(slowSql, [], { signal: controller.signal })
 * controller.abort(new Error('user left'))
 * await pending.catch((error) => error instanceof AbortError) // true; error.cause.message === 'user left'
 * ```
 */
export class AbortError extends SqlaioError {
  constructor(reason: unknown, message = 'The operation was aborted', code = 'ABORT_ERR') {
    super(message, code, { cause: reason })
  }
}

/**
 * The call did not finish within its deadline (`timeoutMs`). It is an AbortError (the same
 * mechanism stops the call) with its own code, `ERR_SQLAIO_TIMEOUT`.
 *
 * @example
 * ```ts
 * await engine.scalar(slowSql, [], { timeoutMs: 100 }).catch((error) => {
 *   if (error instanceof TimeoutError) console.warn(`gave up after ${error.timeoutMs} ms`)
 * })
 * ```
 */
export class TimeoutError extends AbortError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number

  constructor(timeoutMs: number) {
    super(undefined, `The operation did not finish within ${timeoutMs} ms`, 'ERR_SQLAIO_TIMEOUT')
    this.timeoutMs = timeoutMs
  }
}

/**
 * The worker thread running the call died (code `ERR_SQLAIO_WORKER_CRASHED`); a connection on it
 * is closed, and the engine starts a fresh worker for later calls.
 *
 * @example
 * ```ts
 * try {
 *   await conn.execute(sql)
 * } catch (error) {
 *   if (error instanceof WorkerCrashedError) conn = await engine.connect() // start over
 * }
 * ```
 */
export class WorkerCrashedError extends SqlaioError {
  /** The worker's exit code. */
  readonly exitCode: number

  constructor(message: string, exitCode: number) {
    super(message, 'ERR_SQLAIO_WORKER_CRASHED')
    this.exitCode = exitCode
  }
}

/**
 * A result was used in a way its rows do not allow: fetching from a statement that returns no
 * rows (`ERR_SQLAIO_NO_ROWS_RETURNED`), or `one()` finding no row (`ERR_SQLAIO_NO_RESULT`) or
 * several (`ERR_SQLAIO_MULTIPLE_RESULTS`).
 *
 * @example
 * ```ts
 * const user = await (await engine.execute('SELECT * FROM users WHERE id = ?', [id])).one()
 * // rejects with ResultError (ERR_SQLAIO_NO_RESULT) when there is no such user
 * ```
 */
export class ResultError extends SqlaioError {}

/** Rebuilds an error that crossed from the worker, as the class the caller expects. */
export function reviveError(error: SerializedError, sql?: string): Error {
  if (error.name === 'SqliteError') {
    return new DatabaseError(error.message, error.code ?? 'SQLITE_ERROR', sql)
  }
  // A server database's error (PostgreSQL: `code` is the SQLSTATE).
  if (error.name === 'DatabaseError') {
    return new DatabaseError(error.message, error.code ?? 'XX000', sql, error.fields)
  }
  // The worker stopped a cancelled call; the caller that cancelled supplies the reason.
  if (error.name === 'AbortError') return new AbortError(undefined)
  if (error.name === 'TypeError') return new TypeError(error.message)
  if (error.name === 'RangeError') return new RangeError(error.message)
  const revived = new Error(error.message)
  revived.name = error.name
  if (error.code) Object.assign(revived, { code: error.code })
  if (error.stack) Object.assign(revived, { workerStack: error.stack })
  return revived
}

/** Holds a caller's stack. */
export interface CallSite {
  stack?: string
}

/**
 * Captures the current stack, skipping `skip` and the frames above it. Called after an `await`
 * inside `skip`, the stack is the chain of callers awaiting it (V8's async stack trace), which
 * costs nothing until an error needs it; `engine.connect()` captures before its first await.
 */
export function captureCallSite(skip: (...args: never[]) => unknown): CallSite {
  const site: CallSite = {}
  Error.captureStackTrace(site, skip)
  return site
}

/**
 * Appends the caller's frames to an error born elsewhere (a worker, or a later tick), so that the
 * stack shows where the failing call was made.
 */
export function withCallerStack<E>(error: E, site: CallSite): E {
  // A site captured after an await has the awaiting callers' frames, or none at all when the
  // promise was not awaited at once: then the error keeps its own stack.
  const newline = site.stack?.indexOf('\n') ?? -1
  if (error instanceof Error && newline >= 0) {
    error.stack = `${error.name}: ${error.message}\n${site.stack!.slice(newline + 1)}`
  }
  return error
}

/** "at <first caller frame>..." for warnings about where something was opened. */
export function describeSite(site: CallSite): string {
  const stack = site.stack
  const newline = stack?.indexOf('\n') ?? -1
  if (newline < 0) return 'at an unknown place'
  return stack!.slice(newline + 1).trim()
}
