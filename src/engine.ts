/**
 * The Engine: where connections come from, and a worker of its own for implicit calls.
 */
import { Cancel, type CancelOptions } from './cancel.js'
import { Connection } from './connection.js'
import type { Dialect, DialectName } from './dialect.js'
import { nativeAvailable, nativeUnavailableError } from './dialects/sqlite/native.js'
import { ClosedError, captureCallSite, describeSite, withCallerStack } from './errors.js'
import { type EngineOptions, type ResolvedEngineOptions, resolveEngineOptions } from './options.js'
import { WorkerPool } from './pool.js'
import { Queryable } from './queryable.js'
import { Session } from './session.js'
import { WorkerChannel } from './thread/channel.js'
import { dialectFor } from './url.js'

/** Rejects when `cancel` fires. */
function cancelled(cancel: Cancel): Promise<never> {
  return new Promise((_, reject) => cancel.onCancel(reject))
}

/**
 * A database engine, from `createEngine()`. Creating one starts nothing; the first implicit call
 * (`execute`, `scalar`, ...) starts the engine's own worker, and each `connect()` a connection
 * worker (reused from an idle pool when one is free).
 *
 * @example
 * ```ts
 * await using engine = createEngine('sqlite:///app.db')
 * await engine.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)')
 * await engine.execute('INSERT INTO users (name) VALUES (?)', ['Jeremy Goodwin'])
 * console.log(await engine.scalar('SELECT count(*) FROM users'))
 * ```
 */
export class Engine extends Queryable {
  /** The URL the engine was created with. */
  readonly url: string
  /** The database dialect: 'sqlite' or 'postgresql'. */
  readonly dialect: DialectName
  readonly #options: ResolvedEngineOptions
  readonly #dialect: Dialect
  readonly #pool: WorkerPool
  readonly #session: Session
  /** Every live worker of this engine: implicit, pinned to connections, or idle. */
  readonly #channels = new Set<WorkerChannel>()
  #implicit: WorkerChannel | null = null
  #disposed = false
  readonly #native: boolean

  constructor(url: string | URL, options?: EngineOptions) {
    super()
    const text = url instanceof URL ? url.href : url
    this.#dialect = dialectFor(text)
    this.#options = resolveEngineOptions(options)
    this.url = text
    this.dialect = this.#dialect.name
    // Decided once, here: 'require' fails now rather than at the first call. The addon is a
    // SQLite extension: a dialect it cannot serve always runs without it.
    this.#native = this.#dialect.supportsNative && this.#options.native !== 'off' && nativeAvailable()
    if (this.#options.native === 'require' && this.#dialect.supportsNative && !this.#native) {
      throw nativeUnavailableError()
    }
    this.#pool = new WorkerPool(this.#options.poolSize, this.#options.idleTimeoutMs)
    this.#session = new Session({
      channel: () => this.#implicitChannel(),
      options: this.#options,
      owner: this,
    })
  }

  /**
   * Whether this engine's workers step statements through the native addon: true
   * when the option `native` is not 'off' and the addon loads; otherwise they use the JS path.
   *
   * @example
   * ```ts
   * const engine = createEngine('sqlite://', { native: 'auto' })
   * console.log(engine.nativeEnabled ? 'native fast path' : 'JS path')
   * ```
   */
  get nativeEnabled(): boolean {
    return this.#native
  }

  #checkOpen(): void {
    if (this.#disposed) throw new ClosedError('This engine is disposed')
  }

  #spawn(): WorkerChannel {
    const o = this.#options
    const channel = new WorkerChannel(this.#dialect.workerOptions(o, this.#native ? o.native : 'off'))
    this.#channels.add(channel)
    channel.onDeath = () => this.#channels.delete(channel)
    return channel
  }

  /** The worker for implicit calls, replaced if the previous one died. */
  #implicitChannel(): WorkerChannel {
    this.#checkOpen()
    if (!this.#implicit || this.#implicit.failure) this.#implicit = this.#spawn()
    return this.#implicit
  }

  protected session(): Session {
    this.#checkOpen()
    return this.#session
  }

  /**
   * A connection pinned to its own worker. Close it (or `await using` it) to return the worker
   * to the pool.
   *
   * @example
   * ```ts
   * const conn = await engine.connect()
   * try {
   *   await conn.execute('UPDATE users SET name = ? WHERE id = ?', ['Dana', 5])
   * } finally {
   *   await conn.close()
   * }
   * ```
   */
  async connect(options?: CancelOptions): Promise<Connection> {
    const site = captureCallSite(this.connect)
    this.#checkOpen()
    const cancel = Cancel.from(options)
    if (cancel?.error) throw withCallerStack(cancel.error, site)
    const channel = this.#pool.take() ?? this.#spawn()
    try {
      await (cancel ? Promise.race([channel.ready, cancelled(cancel)]) : channel.ready)
    } catch (error) {
      // A worker that was still starting goes to the pool once it is ready.
      channel.ready.then(
        () => this.#pool.put(channel),
        () => void channel.stop(),
      )
      throw withCallerStack(error, site)
    } finally {
      cancel?.dispose()
    }
    this.#checkOpen()
    return new Connection(
      channel,
      {
        options: this.#options,
        dialect: this.dialect,
        release: (released, healthy) => {
          if (this.#disposed || !healthy) void released.stop()
          else this.#pool.put(released)
        },
      },
      describeSite(site),
    )
  }

  /**
   * Runs `fn` on a fresh connection inside a transaction: commits when it resolves, rolls back
   * and rethrows when it throws, and closes the connection either way.
   *
   * @example
   * ```ts
   * await engine.transaction(async (conn) => {
   *   await conn.execute('INSERT INTO users (name) VALUES (?)', ['Natalie Hurley'])
   * })
   * ```
   */
  async transaction<T>(fn: (connection: Connection) => Promise<T> | T, options?: CancelOptions): Promise<T> {
    const started = performance.now()
    const connection = await this.connect(options)
    // One deadline for the whole call: the transaction gets what connecting left of it.
    const timeoutMs = options?.timeoutMs
    const rest =
      timeoutMs && timeoutMs > 0
        ? { ...options, timeoutMs: Math.max(1, timeoutMs - (performance.now() - started)) }
        : options
    try {
      return await connection.transaction(fn, rest)
    } finally {
      await connection.close()
    }
  }

  /**
   * Whether a table or view named `name` exists.
   *
   * @example
   * ```ts
   * if (!(await engine.hasTable('users'))) await engine.exec(schemaSql)
   * ```
   */
  async hasTable(name: string): Promise<boolean> {
    if (typeof name !== 'string') throw new TypeError(`hasTable: name must be a string, got ${typeof name}`)
    const query = this.#dialect.hasTableQuery(name)
    const found = await this.scalar(query.sql, query.params as string[])
    return found !== null
  }

  /**
   * Names of the user tables, sorted.
   *
   * @example
   * ```ts
   * console.log(await engine.tableNames()) // ['events', 'users']
   * ```
   */
  async tableNames(): Promise<string[]> {
    const query = this.#dialect.tableNamesQuery()
    const result = await this.execute(query.sql, query.params as string[])
    return (await result.scalars()) as string[]
  }

  /**
   * Ends every worker (calls in flight reject with ClosedError), removes a `sqlite://`
   * database, and makes every later call reject with ClosedError. Safe to call twice.
   *
   * @example
   * ```ts
   * const engine = createEngine('sqlite:///app.db')
   * try {
   *   await engine.execute('VACUUM')
   * } finally {
   *   await engine.dispose()
   * }
   * ```
   */
  async dispose(): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    const error = new ClosedError('The engine was disposed')
    const channels = [...this.#channels]
    this.#channels.clear()
    this.#implicit = null
    await Promise.all([this.#pool.clear(), ...channels.map((channel) => channel.stop(error))])
    this.#dialect.dispose()
  }

  /**
   * Disposes of the engine (as `dispose()`), for `await using`.
   *
   * @example
   * ```ts
   * await using engine = createEngine('sqlite://')
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose()
  }
}

/**
 * Creates an engine for a SQLAlchemy-style URL. Starts no thread until first use.
 *
 * @example
 * ```ts
 * const engine = createEngine('sqlite:///data.db', { intMode: 'bigint' })
 * const memory = createEngine('sqlite://') // in-memory, shared by all its connections
 * ```
 */
export function createEngine(url: string | URL, options?: EngineOptions): Engine {
  return new Engine(url, options)
}
