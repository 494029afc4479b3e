/**
 * The better-sqlite3 driver: one connection, a prepared-statement cache, and cursors that step
 * a statement in batches through the JavaScript column writers.
 */
import Database from 'better-sqlite3'
import { declaredKind, writeBatch } from '../../arrow/batch-writer.js'
import type { BatchMessage, BoundParams, ColumnKind } from '../../thread/protocol.js'
import { paramsOfBatch } from '../../worker/arrow-params.js'
import type { Driver, RowCursor, StatementOutcome } from '../../worker/driver.js'
import { arrowBatches, eachParamSet, isArrow, isPacked, type ParamSets } from '../../worker/param-sets.js'
import { nativeColumns } from './native-arrow.js'
import type { NativeReader } from './native-reader.js'
import { StatementCache } from './statement-cache.js'

/** Statements that can change the schema (a script is checked anywhere, as it may hold several). */
/**
 * Statements after which cached statements may describe a schema that no longer is: DDL, a
 * rollback (it undoes DDL run inside the transaction or savepoint, whose statements are cached),
 * and ATTACH / DETACH (a name may now be another file's table).
 */
const DDL = /\b(CREATE|ALTER|DROP|ROLLBACK|ATTACH|DETACH)\b/i
const BUSY_TIMEOUT = /busy_timeout/i

/** How many prepared statements a connection keeps. */
const STATEMENT_CACHE_SIZE = 128

export interface SqliteOpenOptions {
  filename: string
  readonly: boolean
  fileMustExist: boolean
  busyTimeoutMs: number
  memory: boolean
}

type Statement = Database.Statement<unknown[], unknown>

interface ReaderShape {
  names: string[]
  declared: ColumnKind[]
}

/** Calls `fn` with the parameters spread the way better-sqlite3 expects them. */
function withParams<T>(params: BoundParams, fn: (...args: unknown[]) => T): T {
  // An object, even an empty one, is bound as named parameters: better-sqlite3 then reports a
  // missing one by name.
  return Array.isArray(params) && params.length === 0 ? fn() : fn(params)
}

class SqliteCursor implements RowCursor {
  readonly #rows: IterableIterator<unknown>
  readonly #numColumns: number
  readonly #declared: ColumnKind[]
  #done = false

  constructor(rows: IterableIterator<unknown>, declared: ColumnKind[]) {
    this.#rows = rows
    this.#numColumns = declared.length
    this.#declared = declared
  }

  nextBatch(maxRows: number): BatchMessage | null {
    if (this.#done) return null
    const rows: unknown[][] = []
    while (rows.length < maxRows) {
      const step = this.#rows.next()
      if (step.done) {
        this.#done = true
        break
      }
      rows.push(step.value as unknown[])
    }
    return writeBatch(rows, this.#numColumns, this.#declared)
  }

  get done(): boolean {
    return this.#done
  }

  close(): void {
    if (this.#done) return
    this.#done = true
    this.#rows.return?.()
  }
}

export class SqliteDriver implements Driver {
  readonly #db: Database.Database
  readonly #statements = new StatementCache<Statement>(STATEMENT_CACHE_SIZE)
  /** What #shape read of each cached reader (gone with the statement). */
  readonly #shapes = new WeakMap<Statement, ReaderShape>()
  readonly #schemaVersion: Database.Statement
  #knownSchema = -1n
  /** `PRAGMA data_version`: changes when another connection commits; a third of the probe's cost. */
  readonly #dataVersion: Database.Statement
  /** The data_version under which the schema was last probed; -1: probe on the next statement. */
  #knownData = -1
  /** The native fast path for statements that return rows, once attached (see useNative). */
  #native: NativeReader | null = null
  /** Whether SQLite's own busy handler is lent back (see #lendBusyHandler). */
  #busyHandlerLent = false

  constructor(options: SqliteOpenOptions) {
    this.#db = new Database(options.filename, {
      readonly: options.readonly,
      fileMustExist: options.fileMustExist,
      timeout: options.busyTimeoutMs,
    })
    // The Database keeps better-sqlite3's defaults (integers as numbers): `setup` modules and
    // `runInWorker` functions get a Database that behaves like a fresh one. sqlaio's own statements
    // ask for bigints one by one (see #prepare).
    // Reading sqlite_schema makes SQLite check its schema cookie and reload a stale schema, so a
    // statement prepared right after sees the new one; reading only the pragma would not.
    this.#schemaVersion = this.#db
      .prepare(
        'SELECT schema_version FROM pragma_schema_version LEFT JOIN (SELECT 1 FROM sqlite_schema LIMIT 1)',
      )
      .pluck()
      .safeIntegers(true)
    this.#dataVersion = this.#db.prepare('PRAGMA data_version').pluck()
    if (options.memory) {
      // A shared in-memory database is a file in RAM that nothing outlives: durability buys
      // nothing, and WAL lets readers on other connections run beside a writer.
      this.#db.pragma('journal_mode = WAL')
      this.#db.pragma('synchronous = OFF')
    }
  }

  get inTransaction(): boolean {
    return this.#db.inTransaction
  }

  get raw(): Database.Database {
    // Whoever takes the raw connection (setup, runInWorker) may change the schema on it, and
    // read or set its busy timeout.
    this.#knownData = -1
    this.#lendBusyHandler()
    return this.#db
  }

  /**
   * Before SQL that may read or set the busy timeout (or user code with the raw Database), the
   * native path hands SQLite its own busy handler back, so that PRAGMA busy_timeout reports and
   * sets the timeout as on a plain better-sqlite3 Database; the next other statement takes the
   * stop-aware handler again, with whatever timeout the connection then has.
   */
  #lendBusyHandler(): void {
    if (!this.#native || this.#busyHandlerLent) return
    this.#native.busyHandler(true)
    this.#busyHandlerLent = true
  }

  #busyHandlerFor(sql: string): void {
    if (BUSY_TIMEOUT.test(sql)) this.#lendBusyHandler()
    else if (this.#busyHandlerLent) {
      this.#native?.busyHandler(false)
      this.#busyHandlerLent = false
    }
  }

  /** Steps statements that return rows through the native addon from now on. */
  useNative(reader: NativeReader): void {
    this.#native = reader
  }

  #prepare(sql: string): Statement {
    this.#busyHandlerFor(sql)
    // A cached statement's column list is read before it steps, and SQLite re-prepares a
    // statement for a new schema only when it steps: after any schema change (here or on another
    // connection) the cache starts over, so names and declared types come from the new schema.
    // In autocommit mode the probe runs before every statement. Inside a transaction it runs only
    // before a read-only statement: the probe's read starts the transaction's snapshot, which
    // such a statement is about to start anyway, but before a write it would turn the write into
    // a read-then-write upgrade, which fails at once with SQLITE_BUSY in WAL mode when another
    // writer committed meanwhile. A deferred BEGIN takes its snapshot at its first read, so a
    // schema another connection committed after the last probe is what that read will see.
    const inTransaction = this.#db.inTransaction
    if (!inTransaction) this.#probeSchema()
    const statement = this.#statements.get(sql) ?? this.#prepareNew(sql)
    if (inTransaction && statement.readonly && this.#probeSchema()) return this.#prepareNew(sql)
    return statement
  }

  /**
   * Clears the statement cache if the schema changed since the last probe; says whether it did.
   * `PRAGMA data_version` moves when another connection commits, so the schema is read only
   * then (this connection's own DDL clears the cache itself: #forgetSchema, and `raw`).
   */
  #probeSchema(): boolean {
    const data = this.#native?.dataVersion() ?? (this.#dataVersion.get() as number)
    if (data === this.#knownData) return false
    this.#knownData = data
    const schema = this.#schemaVersion.get() as bigint
    if (schema === this.#knownSchema) return false
    this.#statements.clear()
    this.#knownSchema = schema
    return true
  }

  #prepareNew(sql: string): Statement {
    // Integers come out as bigint so that INTEGER and REAL stay distinguishable (3 vs 3.0) and
    // values beyond 2^53 survive (rows, and a writer's lastInsertRowid); the main thread converts
    // them per the caller's intMode.
    const statement = (this.#db.prepare(sql) as Statement).safeIntegers(true)
    if (statement.reader) statement.raw(true)
    this.#statements.set(sql, statement)
    return statement
  }

  /**
   * A reader's column names and declared kinds, read once per prepared statement: the cache that
   * holds the statement is cleared whenever the schema may have changed (see #prepare), and with
   * it what was read here.
   */
  #shape(statement: Statement): ReaderShape {
    let shape = this.#shapes.get(statement)
    if (!shape) {
      const columns = statement.columns()
      shape = {
        names: columns.map((column) => column.name),
        declared: columns.map((c) => declaredKind(c.type)),
      }
      this.#shapes.set(statement, shape)
    }
    return shape
  }

  /** After a statement that may have changed the schema, prepare anew. */
  #forgetSchema(sql: string): void {
    if (DDL.test(sql)) this.#statements.clear()
  }

  execute(sql: string, params: BoundParams): StatementOutcome {
    const statement = this.#prepare(sql)
    if (!statement.reader) {
      const info = withParams(params, (...args) => statement.run(...args))
      this.#forgetSchema(sql)
      return {
        returnsRows: false,
        rowcount: info.changes,
        lastInsertRowid: BigInt(info.lastInsertRowid),
      }
    }
    const { names, declared } = this.#shape(statement)
    const cursor = this.#native
      ? this.#native.open(sql, params, declared)
      : new SqliteCursor(
          withParams(params, (...args) => statement.iterate(...args)),
          declared,
        )
    return { returnsRows: true, columns: names, cursor }
  }

  exec(sql: string): void {
    this.#busyHandlerFor(sql)
    this.#db.exec(sql)
    this.#forgetSchema(sql)
  }

  executeMany(sql: string, sets: ParamSets): number {
    const statement = this.#prepare(sql)
    if (statement.reader) {
      throw new TypeError('executeMany() takes a statement that returns no rows')
    }
    const native = this.#native
    const runEach = (list: Iterable<BoundParams>): number => {
      let changes = 0
      for (const params of list) changes += withParams(params, (...args) => statement.run(...args)).changes
      return changes
    }
    // db.transaction() nests as a savepoint inside an open transaction: all or nothing.
    const runAll = this.#db.transaction(() => {
      if (!native) return runEach(eachParamSet(sets))
      // The native path binds and runs in C, without a JS value per cell: packed sets, and the
      // record batches whose column types it binds itself (the others go through JS values).
      if (isPacked(sets)) return native.runPacked(sql, sets)
      if (!isArrow(sets)) return runEach(sets)
      let changes = 0
      for (const batch of arrowBatches(sets)) {
        const columns = nativeColumns(batch)
        changes += columns
          ? native.runArrow(sql, columns, batch.numRows, sets.byName)
          : runEach(paramsOfBatch(batch, sets.byName))
      }
      return changes
    })
    const changes = runAll()
    this.#forgetSchema(sql)
    return changes
  }

  rollbackAll(): void {
    if (!this.#db.inTransaction) return
    this.#db.exec('ROLLBACK')
    this.#forgetSchema('ROLLBACK')
  }

  close(): void {
    // The addon's statements must be finalized (and the connection unregistered) first.
    this.#native?.detach()
    this.#statements.clear()
    this.#db.close()
  }
}
