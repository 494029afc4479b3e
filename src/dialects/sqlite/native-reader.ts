/**
 * The native fast path, worker side: statements that return rows are prepared on better-sqlite3's
 * own connection by the addon and stepped straight into the batch layout in native memory, then
 * copied once into the batch's SharedArrayBuffer (a pooled one: ./buffer-pool.ts). No JS value is
 * made per cell.
 *
 * better-sqlite3 still prepares every statement first (the driver's cache): that is where syntax
 * errors, "more than one statement" and the reader/writer split come from, identical on both
 * paths. Only readers come here, and they bind with better-sqlite3's rules (native/src/bind.c).
 */
import type Database from 'better-sqlite3'
import {
  type BatchMessage,
  type BoundParams,
  type ColumnKind,
  type ColumnLayout,
  Ctl,
  type PackedParams,
} from '../../thread/protocol.js'
import { batchBuffers } from '../../worker/buffer-pool.js'
import type { RowCursor } from '../../worker/driver.js'
import { isInterrupt } from './interrupt.js'
import {
  loadNative,
  NATIVE_ENTRY_POINT,
  NATIVE_PATH,
  type NativeAddon,
  type NativeBatchInfo,
  type NativeConnection,
  type NativeStatement,
  nativeUnavailableError,
} from './native.js'
import type { NativeArrowColumn } from './native-arrow.js'
import { StatementCache } from './statement-cache.js'

/** How many native statements a connection keeps prepared (as the driver's own cache). */
const STATEMENT_CACHE_SIZE = 128

interface CachedStatement {
  handle: NativeStatement
  /** The cursor reading it, while one is open. */
  cursor: NativeCursor | null
  /** Dropped from the cache while in use: finalize when its cursor ends. */
  evicted: boolean
}

/** Steps reader statements of one better-sqlite3 connection through the addon. */
export class NativeReader {
  readonly #addon: NativeAddon
  readonly #db: Database.Database
  readonly #connection: NativeConnection
  readonly #control: Int32Array
  /** An evicted statement still being read is finalized when its cursor ends (see released). */
  readonly #statements = new StatementCache<CachedStatement>(STATEMENT_CACHE_SIZE, (oldest) => {
    if (oldest.cursor) oldest.evicted = true
    else this.#addon.finalize(oldest.handle)
  })
  /** The connection's id in the addon's interrupt registry (sent to the main thread). */
  readonly id: number

  private constructor(
    addon: NativeAddon,
    db: Database.Database,
    connection: NativeConnection,
    control: Int32Array,
  ) {
    this.#addon = addon
    this.#db = db
    this.#connection = connection
    this.#control = control
    this.id = addon.connectionId(connection)
  }

  /**
   * Attaches to `db`: the addon is loaded as a SQLite extension into it, and its init hands the
   * connection to the addon on this thread. Throws when the addon is missing or cannot attach.
   */
  static attach(db: Database.Database, control: Int32Array, busyTimeoutMs: number): NativeReader {
    const addon = loadNative()
    if (!addon) throw nativeUnavailableError()
    // better-sqlite3 takes an entry point as a second argument; its typings omit it.
    const load = db.loadExtension as (path: string, entryPoint: string) => Database.Database
    load.call(db, NATIVE_PATH, NATIVE_ENTRY_POINT)
    return new NativeReader(addon, db, addon.attach(control, busyTimeoutMs), control)
  }

  /** Opens a cursor over `sql` (a reader better-sqlite3 has prepared without error). */
  open(sql: string, params: BoundParams, declared: ColumnKind[]): RowCursor {
    const cached = this.#statement(sql)
    const readonly = this.#addon.open(cached.handle, params, declared)
    // The executor stored this request's id in runningId before dispatching it to the driver.
    const requestId = Atomics.load(this.#control, Ctl.runningId)
    const cursor = new NativeCursor(this, cached, {
      requestId,
      retryable: readonly && requestId !== 0,
      // A retry re-binds and re-runs the statement from its start (see nextBatch).
      reopen: () => this.#addon.open(cached.handle, params, declared),
    })
    cached.cursor = cursor
    return cursor
  }

  /**
   * Runs `sql` (a statement better-sqlite3 prepared as returning no rows) once per packed
   * parameter set, binding and stepping in C; returns the rows changed. The caller holds the
   * transaction.
   */
  runPacked(sql: string, sets: PackedParams): number {
    return this.#run(sql, (handle) => this.#addon.runPacked(handle, new Uint8Array(sets.buffer), sets.count))
  }

  /** See NativeAddon.busyHandler. */
  busyHandler(lend: boolean): void {
    this.#addon.busyHandler(this.#connection, lend)
  }

  /** `PRAGMA data_version`, read by the addon (the driver asks before every statement). */
  dataVersion(): number {
    return this.#addon.dataVersion(this.#connection)
  }

  /** As `runPacked`, for the rows of one record batch bound from its Arrow buffers. */
  runArrow(sql: string, columns: NativeArrowColumn[], rows: number, byName: boolean): number {
    const names = byName ? columns.map((column) => column.name) : null
    return this.#run(sql, (handle) => this.#addon.runArrow(handle, columns, rows, names))
  }

  #run(sql: string, run: (handle: NativeStatement) => number): number {
    try {
      return run(this.#statement(sql).handle)
    } catch (error) {
      this.stepFailed()
      throw error
    }
  }

  #statement(sql: string): CachedStatement {
    const cached = this.#statements.get(sql)
    if (cached) return cached
    const fresh: CachedStatement = {
      handle: this.#addon.prepare(this.#connection, sql),
      cursor: null,
      evicted: false,
    }
    this.#statements.set(sql, fresh)
    return fresh
  }

  /** Called by a cursor when it ends. */
  released(cached: CachedStatement): void {
    cached.cursor = null
    if (cached.evicted) this.#addon.finalize(cached.handle)
  }

  get addon(): NativeAddon {
    return this.#addon
  }

  /**
   * After a failed step. When a user function (db.function, aggregate, table) threw, its JS
   * exception is what addon.step threw, as on the JS path; but better-sqlite3 has also flagged
   * the connection so that its next SQLite error rethrows "the" JS error instead of reporting
   * itself, and only its own error path clears that flag. Let it take that path once, on a
   * statement that cannot compile, so that its next real error is reported.
   */
  stepFailed(): void {
    if (!this.#addon.takeJsError(this.#connection)) return
    try {
      this.#db.exec('SELECT FROM')
    } catch {
      // A plain syntax error: the flag was already clear.
    }
  }

  /**
   * Whether an interrupt of request `id` was meant: the main thread cancelled it (it stores
   * cancelId before interrupting) or is stopping the worker (it interrupts whatever runs).
   */
  cancelled(id: number): boolean {
    return Atomics.load(this.#control, Ctl.cancelId) === id || Atomics.load(this.#control, Ctl.stopping) === 1
  }

  /**
   * Publishes the request this worker runs (0: none) in `Ctl.runningId`. Through the addon, under
   * the registry mutex, so that an interrupt aimed at a request lands only while it runs.
   */
  setRunning(requestId: number): void {
    this.#addon.setRunning(this.#connection, requestId)
  }

  /** Finalizes every statement and leaves the interrupt registry: call before closing the db. */
  detach(): void {
    this.#statements.clear()
    this.#addon.detach(this.#connection)
  }
}

/** addon.step, with its rare "failed, but nothing to throw" outcome turned into an error. */
/** `layout` of a batch written at `offset` of its buffer rather than at its start. */
function movedBy(layout: ColumnLayout, offset: number): ColumnLayout {
  const at = (position: number): number => (position < 0 ? position : position + offset)
  return {
    ...layout,
    validity: at(layout.validity),
    offsets: at(layout.offsets),
    values: at(layout.values),
    typeIds: at(layout.typeIds),
    children: layout.children === null ? null : layout.children.map((child) => movedBy(child, offset)),
  }
}

function step(addon: NativeAddon, handle: NativeStatement, maxRows: number): NativeBatchInfo {
  const info = addon.step(handle, maxRows)
  if (info !== undefined) return info
  const error = Object.assign(new Error(''), { code: 'SQLITE_ERROR' })
  error.name = 'SqliteError'
  throw error
}

/** One open native query, read one batch at a time. */
class NativeCursor implements RowCursor {
  readonly #reader: NativeReader
  readonly #cached: CachedStatement
  readonly #reopen: () => void
  /** The request this cursor serves (0: unknown). */
  readonly #requestId: number
  /** Whether a spurious interrupt may be answered by re-running (read-only, nothing sent yet). */
  #retryable: boolean
  #done = false

  constructor(
    reader: NativeReader,
    cached: CachedStatement,
    retry: { requestId: number; retryable: boolean; reopen: () => void },
  ) {
    this.#reader = reader
    this.#cached = cached
    this.#requestId = retry.requestId
    this.#retryable = retry.retryable
    this.#reopen = retry.reopen
  }

  nextBatch(maxRows: number): BatchMessage | null {
    if (this.#done) return null
    const addon = this.#reader.addon
    const handle = this.#cached.handle
    let info: NativeBatchInfo
    try {
      info = step(addon, handle, maxRows)
    } catch (error) {
      // The main thread interrupts only while runningId is this request, but the statement may
      // finish, and the next request start, before sqlite3_interrupt() lands: an interrupt meant
      // for an earlier request. A read-only statement that has sent nothing yet can simply run
      // again (SQLite clears the interrupt flag when a statement starts with none active).
      this.#reader.stepFailed()
      if (!(this.#retryable && isInterrupt(error) && !this.#reader.cancelled(this.#requestId))) {
        this.#end()
        throw error
      }
      try {
        this.#reopen()
        info = step(addon, handle, maxRows)
      } catch (again) {
        this.#reader.stepFailed()
        this.#end()
        throw again
      }
    }
    this.#retryable = false
    // The addon sized the batch exactly; the pool hands out a zeroed region at least that long.
    // The addon writes the region as a buffer of its own: its layout moves to the region's place.
    const { buffer, offset, lease } = batchBuffers.take(info.byteLength)
    addon.fill(handle, new Uint8Array(buffer, offset, Math.max(info.byteLength, 8)))
    if (info.done) this.#end()
    const columns = offset === 0 ? info.columns : info.columns.map((layout) => movedBy(layout, offset))
    return { buffer, bytes: Math.max(info.byteLength, 8), lease, numRows: info.numRows, columns }
  }

  get done(): boolean {
    return this.#done
  }

  close(): void {
    if (this.#done) return
    this.#reader.addon.close(this.#cached.handle)
    this.#end()
  }

  #end(): void {
    if (this.#done) return
    this.#done = true
    this.#reader.released(this.#cached)
  }
}
