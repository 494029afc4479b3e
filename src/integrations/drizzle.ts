/**
 * `sqlaio/drizzle`: Drizzle ORM over a sqlaio Engine, through Drizzle's `sqlite-proxy` driver.
 * drizzle-orm is an optional peer dependency, imported only from here: the core never loads it.
 *
 * The proxy sends a transaction as plain statements (`begin`, the body, `commit`) through the
 * same callback as everything else. Sent to the engine's own worker, which runs implicit calls in
 * order, a transaction would sweep in whatever other callers sent meanwhile (and roll their
 * writes back with it), and two transactions at once would collide. So `db.transaction()` pins a
 * Connection (its own worker) for the whole callback, found again by every statement the
 * callback makes through an AsyncLocalStorage; statements outside a transaction go to the
 * engine's worker in autocommit mode.
 *
 * @module sqlaio/drizzle
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { DrizzleConfig } from 'drizzle-orm'
import type { MigrationConfig } from 'drizzle-orm/migrator'
import {
  type AsyncBatchRemoteCallback,
  type AsyncRemoteCallback,
  drizzle as proxyDrizzle,
  type SqliteRemoteDatabase,
} from 'drizzle-orm/sqlite-proxy'
import { migrate as proxyMigrate } from 'drizzle-orm/sqlite-proxy/migrator'
import type { Connection, Engine } from '../index.js'

/** The Connection of the `db.transaction()` callback running in this async context. */
const pinned = new AsyncLocalStorage<Connection>()
/** The engine behind each database `drizzle()` made, for `migrate()`. */
const engines = new WeakMap<object, Engine>()

/** Transaction control outside `db.transaction()` would capture other callers' statements. */
const TRANSACTION_CONTROL = /^\s*(begin|commit|end|rollback|savepoint|release)\b/i

type Method = Parameters<AsyncRemoteCallback>[2]

/**
 * What the callback answers: rows as arrays (`get`: the first row itself, or undefined), and for
 * statements that return no rows, `changes` and `lastInsertRowid` as better-sqlite3 reports them.
 *
 * @example
 * ```ts
 * const result = (await db.update(users).set({ active: false })) as SqlaioRemoteResult
 * console.log(`${result.changes} users deactivated`)
 * ```
 */
export interface SqlaioRemoteResult {
  /** The rows as arrays; for `get`, the first row itself (undefined when there is none). */
  rows: unknown[] | undefined
  /** Rows changed by a statement that returns no rows. */
  changes?: number
  /** The rowid of the last row inserted, for a statement that returns no rows. */
  lastInsertRowid?: number | bigint
}

async function run(
  target: Engine | Connection,
  sql: string,
  params: unknown[],
  method: Method,
): Promise<SqlaioRemoteResult> {
  const result = await target.execute(sql, params, { rowMode: 'array' })
  if (!result.returnsRows) {
    return { rows: [], changes: result.rowcount, lastInsertRowid: result.lastInsertRowid }
  }
  if (method === 'get') return { rows: (await result.first<unknown[]>()) ?? undefined }
  try {
    return { rows: await result.fetchall() }
  } finally {
    result.close()
  }
}

/**
 * A Drizzle database (Drizzle's `SqliteRemoteDatabase`) whose statements run on `engine`. Use
 * `db.transaction()` for transactions (each pins its own connection; nested ones are savepoints)
 * and `db.batch()` for several statements in one atomic unit. `db.destroy` does not exist: the
 * engine's owner disposes it.
 *
 * @example
 * ```ts
 * import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
 * import { createEngine } from 'sqlaio'
 * import { drizzle } from 'sqlaio/drizzle'
 *
 * const users = sqliteTable('users', { id: integer('id').primaryKey(), name: text('name') })
 * const engine = createEngine('sqlite:///app.db')
 * const db = drizzle(engine)
 * await db.insert(users).values({ name: 'Dan Rydell' })
 * const all = await db.select().from(users)
 * ```
 */
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  engine: Engine,
  config?: DrizzleConfig<TSchema>,
): SqliteRemoteDatabase<TSchema> {
  if (!engine || typeof engine.connect !== 'function') {
    throw new TypeError('drizzle: engine must be a sqlaio Engine (from createEngine)')
  }
  if (engine.dialect !== 'sqlite') {
    // Drizzle's SQLite proxy would compile SQLite SQL for it: refused rather than half-working.
    throw new TypeError(
      `drizzle: sqlaio/drizzle drives SQLite engines; this engine is ${engine.dialect} (use sqlaio/kysely for PostgreSQL)`,
    )
  }
  const callback: AsyncRemoteCallback = (sql, params, method) => {
    const connection = pinned.getStore()
    if (!connection && TRANSACTION_CONTROL.test(sql)) {
      return Promise.reject(
        new Error(`sqlaio/drizzle: run transactions with db.transaction(), not a raw "${sql.trim()}"`),
      )
    }
    return run(connection ?? engine, sql, params, method) as ReturnType<AsyncRemoteCallback>
  }
  const batch: AsyncBatchRemoteCallback = async (queries) => {
    const runAll = async (connection: Connection): Promise<SqlaioRemoteResult[]> => {
      const results: SqlaioRemoteResult[] = []
      for (const q of queries) results.push(await run(connection, q.sql, q.params, q.method))
      return results
    }
    // Inside a transaction the batch is a savepoint on its connection; outside, its own transaction.
    const connection = pinned.getStore()
    const results = connection ? await connection.transaction(runAll) : await engine.transaction(runAll)
    return results as Awaited<ReturnType<AsyncBatchRemoteCallback>>
  }
  const db = proxyDrizzle<TSchema>(callback, batch, config)
  const transaction = db.transaction.bind(db)
  db.transaction = (async (fn, options) => {
    const connection = await engine.connect()
    try {
      return await pinned.run(connection, () => transaction(fn, options))
    } finally {
      await connection.close()
    }
  }) as typeof db.transaction
  engines.set(db, engine)
  return db
}

/**
 * Applies the migrations in `config.migrationsFolder` that the database has not seen (Drizzle
 * Kit's layout: `meta/_journal.json` and one `.sql` file per entry), all in one transaction.
 *
 * @example
 * ```ts
 * import { drizzle, migrate } from 'sqlaio/drizzle'
 *
 * const db = drizzle(engine)
 * await migrate(db, { migrationsFolder: './drizzle' })
 * ```
 */
export async function migrate<TSchema extends Record<string, unknown>>(
  db: SqliteRemoteDatabase<TSchema>,
  config: MigrationConfig,
): Promise<void> {
  const engine = engines.get(db)
  if (!engine) throw new TypeError('migrate: db must come from drizzle() of sqlaio/drizzle')
  await proxyMigrate(
    db,
    (queries) =>
      engine.transaction(async (connection) => {
        for (const query of queries) await connection.exec(query)
      }),
    config,
  )
}
