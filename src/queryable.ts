/**
 * The calls that an Engine (on its implicit worker) and a Connection (on its own worker) share.
 */
import type { RecordBatch, Table } from 'apache-arrow'
import {
  type ArrowData,
  isArrowData,
  isArrowTable,
  shareTable,
  tableOfBatch,
  usesNamedParameters,
} from './arrow/ingest.js'
import { createTableSql, insertSql } from './arrow/insert-sql.js'
import type { CancelOptions } from './cancel.js'
import type { Connection } from './connection.js'
import type { DialectName } from './dialect.js'
import type { ExecuteOptions } from './options.js'
import { toModuleUrl } from './options.js'
import { bindParams, type Params, type Statement, toStatement } from './params.js'
import type { AsyncResult } from './result.js'
import type { Session } from './session.js'
import { packParamsList } from './thread/packed-params.js'

/**
 * From how many parameter sets `executeMany` packs them into shared memory instead of letting
 * structured clone copy them (a shared buffer costs microseconds to set up).
 */
const PACK_MIN_SETS = 32

export abstract class Queryable {
  /** The session calls go through; throws ClosedError once closed. */
  protected abstract session(): Session

  /** The SQL dialect of the engine: 'sqlite' or 'postgresql'. */
  abstract readonly dialect: DialectName

  /**
   * Runs one statement. Resolves as soon as the statement has started, with an AsyncResult
   * whose rows stream in as record batches.
   *
   * @example
   * ```ts
   * const result = await db.execute('SELECT * FROM users WHERE name LIKE :pattern', { pattern: 'D%' })
   * const users = await result.fetchall()
   * ```
   */
  execute(statement: Statement, params?: Params, options?: ExecuteOptions): Promise<AsyncResult> {
    try {
      const { sql, params: bound } = toStatement(statement, params, 'execute')
      return this.session().execute(sql, bound, options)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Runs a query and resolves to the first column of its first row (null when there is none).
   *
   * @example
   * ```ts
   * const count = await db.scalar('SELECT count(*) FROM users')
   * ```
   */
  async scalar(statement: Statement, params?: Params, options?: ExecuteOptions): Promise<unknown> {
    const result = await this.execute(statement, params, options)
    return result.returnsRows ? result.scalar() : null
  }

  /**
   * Runs a script of one or more statements separated by semicolons (no parameters, no rows).
   *
   * @example
   * ```ts
   * await db.exec('CREATE TABLE a (x); CREATE TABLE b (y)')
   * ```
   */
  exec(script: string, options?: CancelOptions): Promise<void> {
    if (typeof script !== 'string') {
      return Promise.reject(new TypeError(`exec: script must be a string, got ${typeof script}`))
    }
    try {
      return this.session()
        .call((id) => ({ op: 'exec', id, sql: script }), { sql: script, params: [] }, options)
        .then(() => undefined)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Runs one statement once per parameter set in a single round trip, atomically (all sets or
   * none), and resolves to the total number of rows changed — a DB-API `executemany`.
   *
   * The parameter sets may also be Arrow data: a `Table` (one round trip; its rows travel through
   * shared memory, never structured clone), or an iterable or async iterable of `RecordBatch`es
   * (one round trip per batch, all inside one transaction). Each row is one parameter set; columns
   * bind by position for `?` parameters, by column name for `:name`/`@name`/`$name` ones. How
   * each Arrow type binds is in `docs/arrow-in.md`.
   *
   * @example
   * ```ts
   * await db.executeMany('INSERT INTO users (name) VALUES (?)', [['Dan'], ['Dana']])
   * await db.executeMany('INSERT INTO users (id, name) VALUES (:id, :name)', arrowTable)
   * ```
   */
  executeMany(
    sql: string,
    paramsList: readonly Params[] | ArrowData,
    options?: { signal?: AbortSignal },
  ): Promise<number> {
    try {
      if (typeof sql !== 'string') throw new TypeError(`executeMany: sql must be a string, got ${typeof sql}`)
      if (isArrowData(paramsList)) return this.#executeArrow(sql, paramsList, options)
      if (!Array.isArray(paramsList)) {
        throw new TypeError(
          'executeMany: paramsList must be an array of parameter arrays or objects, an Arrow Table, or record batches',
        )
      }
      const list = paramsList.map((params, set) => bindParams(params, { call: 'executeMany', set }))
      const packed = list.length >= PACK_MIN_SETS ? packParamsList(list) : null
      return this.session()
        .call(
          (id) => ({ op: 'executeMany', id, sql, paramsList: packed ?? list }),
          { sql, params: paramsList },
          options,
        )
        .then((changes) => changes as number)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Appends Arrow data (a `Table`, or record batches) to `table`, column by column by name, in
   * one transaction; with `create: true` the table is first created from the Arrow schema if it
   * does not exist (integers and booleans INTEGER, floats REAL, binaries BLOB, the rest TEXT).
   * Resolves to the number of rows inserted.
   *
   * @example
   * ```ts
   * const table = tableFromArrays({ id: Int32Array.from([1, 2]), name: ['Dan', 'Dana'] })
   * await engine.insertArrow('users', table, { create: true })
   * ```
   */
  async insertArrow(
    table: string,
    data: ArrowData,
    options?: { create?: boolean; signal?: AbortSignal },
  ): Promise<number> {
    if (typeof table !== 'string' || table === '') {
      throw new TypeError('insertArrow: table must be a non-empty string')
    }
    if (!isArrowData(data)) throw new TypeError('insertArrow: data must be an Arrow Table or record batches')
    const cancel = options?.signal ? { signal: options.signal } : undefined
    if (isArrowTable(data)) {
      if (options?.create) await this.exec(createTableSql(table, data.schema, this.dialect), cancel)
      return this.executeMany(insertSql(table, data.schema, this.dialect), data, cancel)
    }
    const batches = peekable(data)
    const first = await batches.first()
    if (!first) return 0
    return this.transaction(async (connection) => {
      if (options?.create) await connection.exec(createTableSql(table, first.schema, this.dialect), cancel)
      return connection.executeMany(insertSql(table, first.schema, this.dialect), batches.all(), cancel)
    })
  }

  /** Runs `fn` in a transaction on a connection (nested as a savepoint when already in one). */
  abstract transaction<T>(fn: (connection: Connection) => Promise<T> | T, options?: CancelOptions): Promise<T>

  async #executeArrow(sql: string, data: ArrowData, options?: { signal?: AbortSignal }): Promise<number> {
    const byName = usesNamedParameters(sql)
    const send = (queryable: Queryable, table: Table): Promise<number> => {
      const shared = shareTable(table, 'executeMany')
      return queryable
        .session()
        .call(
          (id) => ({ op: 'executeArrow', id, sql, ...shared, byName }),
          { sql, params: [`(${shared.numRows} rows of Arrow data)`] },
          options,
        )
        .then((changes) => changes as number)
    }
    if (isArrowTable(data)) return send(this, data)
    // Batches as they come: one request each, all of them in one transaction.
    return this.transaction(async (connection) => {
      let changes = 0
      for await (const batch of data) changes += await send(connection, tableOfBatch(batch))
      return changes
    }, options)
  }
  /**
   * Calls `exportName` of `module` inside this worker with the raw better-sqlite3 Database first,
   * then `args`. Arguments and the return value cross the thread by structured clone. To pass
   * `signal` or `timeoutMs`, call it with one object instead.
   *
   * @example
   * ```ts
   * // stats.js: export function pageCount(db) { return db.pragma('page_count', { simple: true }) }
   * const pages = await db.runInWorker('./stats.js', 'pageCount')
   * const same = await db.runInWorker({ module: './stats.js', exportName: 'pageCount', timeoutMs: 1000 })
   * ```
   */
  runInWorker(module: string | URL, exportName: string, ...args: unknown[]): Promise<unknown>
  runInWorker(call: WorkerCall): Promise<unknown>
  runInWorker(target: string | URL | WorkerCall, exportName?: string, ...rest: unknown[]): Promise<unknown> {
    try {
      const call: WorkerCall =
        typeof target === 'object' && !(target instanceof URL)
          ? target
          : { module: target, exportName: exportName as string, args: rest }
      const url = toModuleUrl('runInWorker', 'module', call.module)
      const name = call.exportName
      if (typeof name !== 'string') {
        throw new TypeError(`runInWorker: exportName must be a string, got ${typeof name}`)
      }
      const args = call.args ?? []
      return this.session().call(
        (id) => ({ op: 'runInWorker', id, module: url, exportName: name, args }),
        null,
        call,
      )
    } catch (error) {
      return Promise.reject(error)
    }
  }
}

/**
 * One `runInWorker` call spelled as an object, with its cancellation options.
 *
 * @example
 * ```ts
 * const pages = await engine.runInWorker({ module: './stats.js', exportName: 'pageCount', timeoutMs: 1000 })
 * ```
 */
export interface WorkerCall extends CancelOptions {
  /** Path or URL of the module the worker imports. */
  module: string | URL
  /** The exported function to call with the worker's database and `args`. */
  exportName: string
  /** Arguments after the database (structured-cloned to the worker). */
  args?: unknown[]
}

/** Record batches from an iterable or async iterable, with the first one readable in advance. */
function peekable(source: AsyncIterable<RecordBatch> | Iterable<RecordBatch>): {
  first(): Promise<RecordBatch | null>
  all(): AsyncIterable<RecordBatch>
} {
  const iterator =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<RecordBatch>)[Symbol.asyncIterator]()
      : (source as Iterable<RecordBatch>)[Symbol.iterator]()
  let head: RecordBatch | null = null
  return {
    async first() {
      const step = await iterator.next()
      head = step.done ? null : step.value
      return head
    },
    async *all() {
      if (head) yield head
      for (;;) {
        const step = await iterator.next()
        if (step.done) return
        yield step.value
      }
    },
  }
}
