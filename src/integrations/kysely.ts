/**
 * `sqlaio/kysely`: a Kysely dialect whose queries run on a sqlaio Engine's worker threads. Kysely
 * is an optional peer dependency, imported only from here: the core never loads it.
 *
 * @module sqlaio/kysely
 */
import {
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely'
import type { Engine } from '../index.js'
import { type SqlaioConnection, SqlaioDriver } from './kysely/driver.js'

export { CancelPlugin } from './kysely/cancel-plugin.js'
export type { SqlaioConnection } from './kysely/driver.js'

/** Kysely's own pieces for one SQL dialect: how it compiles, adapts and introspects. */
interface DialectParts {
  adapter(): DialectAdapter
  compiler(): QueryCompiler
  introspector(db: Kysely<unknown>): DatabaseIntrospector
}

/**
 * Kysely's parts for each `engine.dialect`; the driver only talks to the Engine and is the same
 * for every dialect.
 */
const PARTS: Record<Engine['dialect'], DialectParts> = {
  sqlite: {
    adapter: () => new SqliteAdapter(),
    compiler: () => new SqliteQueryCompiler(),
    introspector: (db) => new SqliteIntrospector(db),
  },
  postgresql: {
    adapter: () => new PostgresAdapter(),
    compiler: () => new PostgresQueryCompiler(),
    introspector: (db) => new PostgresIntrospector(db),
  },
}

/**
 * Options of `SqlaioDialect`.
 *
 * @example
 * ```ts
 * const config: SqlaioDialectConfig = {
 *   engine,
 *   maxIdleConnections: 4,
 *   onCreateConnection: async ({ connection }) => {
 *     await connection.exec('PRAGMA foreign_keys = ON')
 *   },
 * }
 * ```
 */
export interface SqlaioDialectConfig {
  /** The engine queries run on. `db.destroy()` closes the dialect's connections, not the engine. */
  engine: Engine
  /**
   * Released connections kept open (each pins one worker) for the next query, default 2. Beyond
   * it a released connection is closed and its worker goes back to the engine's pool.
   */
  maxIdleConnections?: number
  /** Called once with each new connection, e.g. to set a PRAGMA on it. */
  onCreateConnection?: (connection: SqlaioConnection) => Promise<void>
}

/**
 * A Kysely dialect over a sqlaio Engine. Each Kysely connection pins a sqlaio Connection (one
 * worker), so transactions and savepoints stay on one worker; `.stream()` reads rows a record
 * batch at a time; `CancelPlugin` cancels a running query.
 *
 * @example
 * ```ts
 * import { Kysely } from 'kysely'
 * import { createEngine } from 'sqlaio'
 * import { SqlaioDialect } from 'sqlaio/kysely'
 *
 * const engine = createEngine('sqlite:///app.db')
 * const db = new Kysely<Database>({ dialect: new SqlaioDialect({ engine }) })
 * const people = await db.selectFrom('person').selectAll().where('id', '=', 1).execute()
 * await db.destroy()
 * await engine.dispose()
 * ```
 */
export class SqlaioDialect implements Dialect {
  readonly #config: SqlaioDialectConfig
  readonly #maxIdle: number
  readonly #parts: DialectParts

  constructor(config: SqlaioDialectConfig) {
    const engine = config?.engine
    if (!engine || typeof engine.connect !== 'function') {
      throw new TypeError('SqlaioDialect: config.engine must be a sqlaio Engine (from createEngine)')
    }
    const parts = PARTS[engine.dialect]
    if (!parts) throw new TypeError(`SqlaioDialect: no Kysely support for the "${engine.dialect}" dialect`)
    const max = config.maxIdleConnections ?? 2
    if (!Number.isInteger(max) || max < 0) {
      throw new RangeError(`SqlaioDialect: maxIdleConnections must be a non-negative integer, got ${max}`)
    }
    this.#config = config
    this.#maxIdle = max
    this.#parts = parts
  }

  /**
   * The driver Kysely runs queries through: connections from the engine, pinned for
   * transactions, up to `maxIdleConnections` kept between queries.
   *
   * @example
   * ```ts
   * const db = new Kysely<Database>({ dialect: new SqlaioDialect({ engine }) }) // Kysely calls this
   * ```
   */
  createDriver(): Driver {
    return new SqlaioDriver({
      engine: this.#config.engine,
      maxIdleConnections: this.#maxIdle,
      onCreateConnection: this.#config.onCreateConnection,
    })
  }

  /**
   * Kysely's own query compiler for the engine's dialect (SQLite's or PostgreSQL's).
   *
   * @example
   * ```ts
   * const { sql, parameters } = db.selectFrom('users').selectAll().compile()
   * ```
   */
  createQueryCompiler(): QueryCompiler {
    return this.#parts.compiler()
  }

  /**
   * Kysely's own adapter for the engine's dialect (SQLite's or PostgreSQL's): what the dialect
   * supports (RETURNING, transactional DDL) and how migrations lock.
   *
   * @example
   * ```ts
   * await new Migrator({ db, provider }).migrateToLatest() // uses the adapter's migration lock
   * ```
   */
  createAdapter(): DialectAdapter {
    return this.#parts.adapter()
  }

  /**
   * Kysely's own introspector for the engine's dialect (SQLite's or PostgreSQL's), which backs
   * `db.introspection`.
   *
   * @example
   * ```ts
   * const tables = await db.introspection.getTables()
   * ```
   */
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface types this as Kysely<any>.
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return this.#parts.introspector(db)
  }
}
