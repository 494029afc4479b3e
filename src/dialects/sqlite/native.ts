/**
 * The optional native addon (native/): locating and loading it, and its typed surface.
 *
 * The same shared library is loaded three ways: by `require` on the main thread (to interrupt a
 * worker's running statement), by `require` in each worker, and by SQLite itself when a worker
 * calls better-sqlite3's `db.loadExtension()` with it. Loading never throws here: when the addon
 * is missing or broken, {@link nativeAvailable} is false and everything uses the JS path.
 */
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { BoundParams, ColumnKind, ColumnLayout } from '../../thread/protocol.js'
import type { NativeArrowColumn } from './native-arrow.js'

/** Where node-gyp puts the addon (relative to dist/src/ once compiled). */
export const NATIVE_PATH = fileURLToPath(
  new URL('../../../../native/build/Release/sqlaio.node', import.meta.url),
)

/** The SQLite extension entry point the addon exports. */
export const NATIVE_ENTRY_POINT = 'sqlite3_sqlaio_init'

declare const connectionTag: unique symbol
declare const statementTag: unique symbol

/** A type-tagged handle to a better-sqlite3 connection the addon attached to. */
export interface NativeConnection {
  readonly [connectionTag]: true
}

/** A type-tagged handle to a statement prepared by the addon. */
export interface NativeStatement {
  readonly [statementTag]: true
}

/** What `step` reports about the batch it just stepped into native scratch memory. */
export interface NativeBatchInfo {
  numRows: number
  /** Exact size of the SharedArrayBuffer `fill` needs. */
  byteLength: number
  /** The statement is exhausted (and already reset). */
  done: boolean
  columns: ColumnLayout[]
}

/** The functions native/src/addon.c exports. Every handle argument is checked by type tag. */
export interface NativeAddon {
  /**
   * The connection that just ran the extension's init on this thread (see attachNative).
   * `control` is the worker's control block (the addon reads its runningId and stopping fields);
   * `busyTimeoutMs` is how long its busy handler waits for a lock.
   */
  attach(control: Int32Array, busyTimeoutMs: number): NativeConnection
  /** The connection's id in the process-wide interrupt registry. */
  connectionId(connection: NativeConnection): number
  /** Whether a step failed because a user JS function threw (clears the mark). */
  takeJsError(connection: NativeConnection): boolean
  /** What `PRAGMA data_version` answers on the connection, read without better-sqlite3. */
  dataVersion(connection: NativeConnection): number
  /** Finalizes the connection's statements and unregisters it; required before it closes. */
  detach(connection: NativeConnection): void
  prepare(connection: NativeConnection, sql: string): NativeStatement
  /** Binds (better-sqlite3's rules) and opens a cursor; returns whether the statement is read-only. */
  open(statement: NativeStatement, params: BoundParams, declared: ColumnKind[]): boolean
  /**
   * Steps at most `maxRows` rows; on failure resets the statement and throws a SqliteError-shaped
   * error, or the exception of the user function that failed the step. It returns undefined
   * only for a failure with an empty message that no JS exception explains (see batch.c).
   */
  step(statement: NativeStatement, maxRows: number): NativeBatchInfo | undefined
  /** Copies the batch just stepped into `target` (a zeroed view of a SharedArrayBuffer). */
  fill(statement: NativeStatement, target: Uint8Array): void
  /**
   * Runs a statement that returns no rows once per parameter set packed in `packed`
   * (thread/packed-params.ts), with better-sqlite3's binding rules and errors; returns the rows
   * changed in total. Throws as `step` does.
   */
  runPacked(statement: NativeStatement, packed: Uint8Array, count: number): number
  /**
   * Runs a statement that returns no rows once per row of a record batch, binding its `columns`
   * (dialects/sqlite/native-arrow.ts) by position, or by `names` when given; returns the rows
   * changed. Throws as `step` does, and RangeError/TypeError as binding does.
   */
  runArrow(
    statement: NativeStatement,
    columns: NativeArrowColumn[],
    rows: number,
    names: string[] | null,
  ): number
  /** Ends the open cursor (resets the statement). */
  close(statement: NativeStatement): void
  finalize(statement: NativeStatement): void
  /**
   * `sqlite3_interrupt()` on registered connection `id`, from any thread, only while its worker
   * runs request `requestId` (0: whatever it runs); returns whether it interrupted.
   */
  interrupt(id: number, requestId: number): boolean
  /** Publishes the request the worker runs (0: none) in its runningId, under the registry mutex. */
  setRunning(connection: NativeConnection, requestId: number): void
  /**
   * Lends SQLite's own busy handler back, with the connection's timeout (`lend` true), or takes
   * the stop-aware one again with the timeout the connection then has (false). SQLite reports
   * the timeout (PRAGMA busy_timeout) only while its own handler is installed.
   */
  busyHandler(connection: NativeConnection, lend: boolean): void
  /**
   * Reports `bytes` more (or, negative, fewer) bytes of memory kept alive by JS objects of this
   * thread (napi_adjust_external_memory), so that V8 collects them when they pile up. Returns the
   * thread's total.
   */
  adjustExternalMemory(bytes: number): number
  /**
   * Asks the kernel to back `usable` bytes of `bytes`, which nothing has touched yet, from its
   * first 2 MB boundary with transparent huge pages. Returns that boundary's offset, or -1 when
   * nothing was advised (not Linux, or `bytes` too short).
   */
  adviseHugePages(bytes: Uint8Array, usable: number): number
}

let loaded: { addon: NativeAddon | null; error: Error | null } | null = null

/** The addon, loaded once per thread, or null when it is not built or fails to load. */
export function loadNative(): NativeAddon | null {
  if (loaded === null) {
    try {
      const addon = createRequire(import.meta.url)(NATIVE_PATH) as NativeAddon
      loaded = { addon, error: null }
    } catch (error) {
      loaded = { addon: null, error: error instanceof Error ? error : new Error(String(error)) }
    }
  }
  return loaded.addon
}

/**
 * Whether the native addon is built and loads in this process. When it does, engines created
 * with `native: 'auto'` (the default) or `'require'` step statements natively.
 *
 * @example
 * ```ts
 * import { createEngine, nativeAvailable } from 'sqlaio'
 * const engine = createEngine('sqlite:///data.db', { native: nativeAvailable() ? 'require' : 'off' })
 * ```
 */
export function nativeAvailable(): boolean {
  return loadNative() !== null
}

/** The error `native: 'require'` fails with when the addon cannot be used. */
export function nativeUnavailableError(detail?: string): Error {
  loadNative()
  const reason = detail ?? loaded?.error?.message ?? 'unknown reason'
  const error = new Error(
    `sqlaio: option native: 'require' was given, but the native addon is unavailable (${reason}). ` +
      'Build it with `npm rebuild sqlaio` (needs a C compiler and node-gyp), or use native: "auto".',
  )
  return Object.assign(error, { code: 'ERR_SQLAIO_NATIVE_UNAVAILABLE' })
}
