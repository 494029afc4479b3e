/**
 * The Kysely Driver over a sqlaio Engine: each Kysely connection is a sqlaio Connection pinned to
 * its own worker, so a transaction's statements all run on the worker that began it.
 */
import {
  type CompiledQuery,
  createQueryId,
  type DatabaseConnection,
  type Driver,
  IdentifierNode,
  type QueryCompiler,
  type QueryResult,
  RawNode,
  type TransactionSettings,
} from 'kysely'
import type { AsyncResult, Connection, Engine, ExecuteOptions, Transaction } from '../../index.js'
import { cancelOptionsOf } from './cancel-plugin.js'

/** Rows per chunk of `.stream()` when Kysely passes none. */
const DEFAULT_CHUNK_ROWS = 100

function toQueryResult<R>(result: AsyncResult, dialect: Connection['dialect']): QueryResult<R> {
  return {
    rows: [],
    numAffectedRows: BigInt(result.rowcount),
    // PostgreSQL has no last insert id (Kysely's own PostgreSQL driver leaves it out).
    insertId: dialect === 'sqlite' ? BigInt(result.lastInsertRowid) : undefined,
  }
}

/**
 * One Kysely connection: a sqlaio Connection pinned to one worker, and the transaction Kysely
 * opened on it. `SqlaioDialectConfig.onCreateConnection` receives it.
 *
 * @example
 * ```ts
 * new SqlaioDialect({
 *   engine,
 *   onCreateConnection: ({ connection }) => connection.exec('PRAGMA cache_size = -64000'),
 * })
 * ```
 */
export class SqlaioConnection implements DatabaseConnection {
  /** The pinned sqlaio Connection. */
  readonly connection: Connection
  /** The transaction Kysely began on it, until its commit or rollback. */
  transaction: Transaction | null = null

  constructor(connection: Connection) {
    this.connection = connection
  }

  #options(compiled: CompiledQuery): ExecuteOptions {
    // Kysely reads rows as objects whatever the engine's default row mode is.
    return { ...cancelOptionsOf(compiled.queryId), rowMode: 'object' }
  }

  /**
   * Runs a compiled query on the pinned connection: its rows as objects, or, for a statement
   * without rows, the rows changed and the last insert id. The query's cancel options (from
   * `CancelPlugin`) apply.
   *
   * @example
   * ```ts
   * const { rows } = await db.selectFrom('users').selectAll().execute() // Kysely calls this
   * ```
   */
  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const options = this.#options(compiled)
    const result = await this.connection.execute(compiled, undefined, options)
    if (!result.returnsRows) return toQueryResult(result, this.connection.dialect)
    try {
      return { rows: await result.fetchall<R>(options) }
    } finally {
      result.close()
    }
  }

  /**
   * Streams a compiled query's rows in chunks of `chunkSize` rows (default 100),
   * reading the result batch by batch; leaving the loop early closes the result.
   *
   * @example
   * ```ts
   * for await (const row of db.selectFrom('events').selectAll().stream(1000)) console.log(row)
   * ```
   */
  async *streamQuery<R>(compiled: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    const size = chunkSize ?? DEFAULT_CHUNK_ROWS
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`stream: chunkSize must be a positive integer, got ${chunkSize}`)
    }
    const options = this.#options(compiled)
    const result = await this.connection.execute(compiled, undefined, options)
    try {
      if (!result.returnsRows) {
        yield toQueryResult(result, this.connection.dialect)
        return
      }
      // The result's own iterator reads a record batch per round trip and lets the event loop
      // run every few milliseconds, so a long stream never holds the main thread.
      let rows: R[] = []
      for await (const row of result) {
        rows.push(row as R)
        if (rows.length === size) {
          yield { rows }
          rows = []
        }
      }
      if (rows.length > 0) yield { rows }
    } finally {
      result.close()
    }
  }
}

/** Options of the Kysely driver, from `SqlaioDialectConfig`. */
export interface SqlaioDriverConfig {
  engine: Engine
  maxIdleConnections: number
  onCreateConnection: ((connection: SqlaioConnection) => Promise<void>) | undefined
}

/**
 * Hands Kysely pinned connections, keeping up to `maxIdleConnections` released ones open for the
 * next query so that a single query costs one round trip, not a connect and a close as well.
 */
const ISOLATION_LEVELS = ['read uncommitted', 'read committed', 'repeatable read', 'serializable', 'snapshot']
const ACCESS_MODES = ['read only', 'read write']

/** `settings` as PostgreSQL's transaction characteristics (null when there are none). */
function transactionCharacteristics(settings: TransactionSettings): string | null {
  const { isolationLevel, accessMode } = settings
  if (isolationLevel !== undefined && !ISOLATION_LEVELS.includes(isolationLevel)) {
    throw new RangeError(`sqlaio: unknown isolation level ${JSON.stringify(isolationLevel)}`)
  }
  if (accessMode !== undefined && !ACCESS_MODES.includes(accessMode)) {
    throw new RangeError(`sqlaio: unknown access mode ${JSON.stringify(accessMode)}`)
  }
  const parts = [isolationLevel && `isolation level ${isolationLevel}`, accessMode].filter(Boolean)
  return parts.length === 0 ? null : parts.join(', ')
}

export class SqlaioDriver implements Driver {
  readonly #config: SqlaioDriverConfig
  readonly #idle: SqlaioConnection[] = []
  readonly #open = new Set<SqlaioConnection>()
  #destroyed = false

  constructor(config: SqlaioDriverConfig) {
    this.#config = config
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#destroyed) throw new Error('This Kysely instance was destroyed')
    for (let idle = this.#idle.pop(); idle; idle = this.#idle.pop()) {
      // A connection whose worker died (or whose engine was disposed) is left behind.
      if (!idle.connection.closed) return idle
      this.#open.delete(idle)
    }
    const connection = new SqlaioConnection(await this.#config.engine.connect())
    this.#open.add(connection)
    try {
      await this.#config.onCreateConnection?.(connection)
    } catch (error) {
      await this.#close(connection)
      throw error
    }
    return connection
  }

  async releaseConnection(kyselyConnection: DatabaseConnection): Promise<void> {
    const connection = kyselyConnection as SqlaioConnection
    connection.transaction = null
    const { closed, inTransaction } = connection.connection
    // One left inside a transaction (a raw BEGIN) is closed, which rolls it back.
    if (closed || inTransaction || this.#destroyed || this.#idle.length >= this.#config.maxIdleConnections) {
      await this.#close(connection)
      return
    }
    this.#idle.push(connection)
  }

  async #close(connection: SqlaioConnection): Promise<void> {
    this.#open.delete(connection)
    if (!connection.connection.closed) await connection.connection.close()
  }

  async beginTransaction(kyselyConnection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const characteristics = transactionCharacteristics(settings)
    if (characteristics && this.#config.engine.dialect !== 'postgresql') {
      throw new TypeError('sqlaio: SQLite transactions take no isolation level or access mode')
    }
    const connection = kyselyConnection as SqlaioConnection
    const transaction = await connection.connection.begin()
    connection.transaction = transaction
    if (!characteristics) return
    try {
      // PostgreSQL takes them as the transaction's first statement.
      await connection.connection.execute(`SET TRANSACTION ${characteristics}`)
    } catch (error) {
      connection.transaction = null
      await transaction.rollback()
      throw error
    }
  }

  async commitTransaction(kyselyConnection: DatabaseConnection): Promise<void> {
    const connection = kyselyConnection as SqlaioConnection
    const transaction = connection.transaction
    connection.transaction = null
    if (!transaction) throw new Error('sqlaio: commit without a transaction on this connection')
    // A failed commit rolls back before it throws; Kysely's rollback that follows is then a no-op.
    await transaction.commit()
  }

  async rollbackTransaction(kyselyConnection: DatabaseConnection): Promise<void> {
    const connection = kyselyConnection as SqlaioConnection
    const transaction = connection.transaction
    connection.transaction = null
    if (transaction?.isActive) await transaction.rollback()
  }

  savepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    return this.#savepointCommand(connection, 'savepoint', name, compile)
  }

  rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    return this.#savepointCommand(connection, 'rollback to', name, compile)
  }

  releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    return this.#savepointCommand(connection, 'release', name, compile)
  }

  async #savepointCommand(
    kyselyConnection: DatabaseConnection,
    command: string,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    // Compiled by the dialect's compiler, which quotes the name as an identifier.
    const node = RawNode.createWithChildren([
      RawNode.createWithSql(`${command} `),
      IdentifierNode.create(name),
    ])
    await kyselyConnection.executeQuery(compile(node, createQueryId()))
  }

  /** Closes the connections this driver holds; the engine stays with its owner. */
  async destroy(): Promise<void> {
    this.#destroyed = true
    this.#idle.length = 0
    const open = [...this.#open]
    await Promise.all(open.map((connection) => this.#close(connection).catch(() => {})))
  }
}
