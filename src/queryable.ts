/**
 * The calls that an Engine (on its implicit worker) and a Connection (on its own worker) share.
 */
import type { CancelOptions } from './cancel.js'
import { captureCallSite } from './errors.js'
import type { ExecuteOptions } from './options.js'
import { toModuleUrl } from './options.js'
import { bindParams, type Params, type Statement, toStatement } from './params.js'
import type { AsyncResult } from './result.js'
import type { Session } from './session.js'

export abstract class Queryable {
  /** The session calls go through; throws ClosedError once closed. */
  protected abstract session(): Session

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
    const site = captureCallSite(this.execute)
    try {
      const { sql, params: bound } = toStatement(statement, params, 'execute')
      return this.session().execute(site, sql, bound, options)
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
    const site = captureCallSite(this.exec)
    if (typeof script !== 'string') {
      return Promise.reject(new TypeError(`exec: script must be a string, got ${typeof script}`))
    }
    try {
      return this.session()
        .call(site, (id) => ({ op: 'exec', id, sql: script }), { sql: script, params: [] }, options)
        .then(() => undefined)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Runs one statement once per parameter set in a single round trip, atomically (all sets or
   * none), and resolves to the total number of rows changed — a DB-API `executemany`.
   *
   * @example
   * ```ts
   * await db.executeMany('INSERT INTO users (name) VALUES (?)', [['Dan'], ['Dana']])
   * ```
   */
  executeMany(
    sql: string,
    paramsList: readonly Params[],
    options?: { signal?: AbortSignal },
  ): Promise<number> {
    const site = captureCallSite(this.executeMany)
    try {
      if (typeof sql !== 'string') throw new TypeError(`executeMany: sql must be a string, got ${typeof sql}`)
      if (!Array.isArray(paramsList)) {
        throw new TypeError('executeMany: paramsList must be an array of parameter arrays or objects')
      }
      const list = paramsList.map((params, i) => bindParams(params, `executeMany (set ${i + 1})`))
      return this.session()
        .call(
          site,
          (id) => ({ op: 'executeMany', id, sql, paramsList: list }),
          { sql, params: paramsList },
          options,
        )
        .then((changes) => changes as number)
    } catch (error) {
      return Promise.reject(error)
    }
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
    const site = captureCallSite(this.runInWorker)
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
        site,
        (id) => ({ op: 'runInWorker', id, module: url, exportName: name, args }),
        null,
        call,
      )
    } catch (error) {
      return Promise.reject(error)
    }
  }
}

/** One `runInWorker` call spelled as an object, with its cancellation options. */
export interface WorkerCall extends CancelOptions {
  module: string | URL
  exportName: string
  args?: unknown[]
}
