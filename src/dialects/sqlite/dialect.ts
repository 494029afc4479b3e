/**
 * SQLite's side of the dialect seam on the main thread: its URL forms, what its workers open,
 * and its introspection queries. URLs follow SQLAlchemy: `sqlite:///relative.db`,
 * `sqlite:////abs/path.db`, `sqlite://` and `sqlite:///:memory:` (an in-memory database shared
 * by all of the engine's connections, kept in a RAM-backed file: see `memory-db.ts`).
 */
import { resolve } from 'node:path'
import type { Dialect, DialectQuery } from '../../dialect.js'
import type { ResolvedEngineOptions } from '../../options.js'
import type { ChannelOptions } from '../../thread/channel.js'
import { createMemoryDatabase } from './memory-db.js'

/**
 * The path of a sqlite URL's database file, or null for a shared in-memory database.
 *
 * @example
 * ```ts
 * sqliteFilename('sqlite:///data.db') // '/current/dir/data.db'
 * sqliteFilename('sqlite://') // null (in memory), as sqlite:///:memory:
 * ```
 */
export function sqliteFilename(url: string): string | null {
  const rest = url.slice(url.indexOf('://') + 3)
  if (rest === '' || rest === '/:memory:') return null
  if (!rest.startsWith('/')) {
    throw new TypeError(
      `createEngine: malformed sqlite URL "${url}": a host is not allowed (use sqlite:///file.db or sqlite:////abs/file.db)`,
    )
  }
  const body = rest.slice(1)
  const q = body.indexOf('?')
  if (q >= 0) {
    throw new TypeError(
      `createEngine: sqlite URL "${url}" has query parameters, which are not supported; use EngineOptions`,
    )
  }
  if (body === '') {
    throw new TypeError(`createEngine: malformed sqlite URL "${url}": no database path`)
  }
  if (body.endsWith('/')) {
    throw new TypeError(
      `createEngine: malformed sqlite URL "${url}": the path names a directory, not a database file`,
    )
  }
  return resolve(decodeURIComponent(body))
}

/**
 * The SQLite dialect of one engine.
 *
 * @example
 * ```ts
 * const dialect = new SqliteDialect('sqlite://')
 * dialect.tableNamesQuery().sql // "SELECT name FROM sqlite_schema ..."
 * ```
 */
export class SqliteDialect implements Dialect {
  readonly name = 'sqlite'
  readonly supportsNative = true
  readonly #filename: string | null
  #memory: { filename: string; remove: () => void } | null = null

  constructor(url: string) {
    this.#filename = sqliteFilename(url)
  }

  workerOptions(o: ResolvedEngineOptions, native: 'auto' | 'off' | 'require'): ChannelOptions {
    let filename = this.#filename
    if (filename === null) {
      this.#memory ??= createMemoryDatabase()
      filename = this.#memory.filename
    }
    return {
      dialect: 'sqlite',
      filename,
      readonly: o.readonly,
      fileMustExist: o.fileMustExist,
      busyTimeoutMs: o.busyTimeoutMs,
      memory: this.#filename === null,
      setup: o.setup,
      native,
      resourceLimits: o.resourceLimits,
    }
  }

  hasTableQuery(name: string): DialectQuery {
    // SQLite matches names without regard to ASCII case, and a temporary table shadows the others.
    return {
      sql: "SELECT 1 FROM sqlite_schema WHERE type IN ('table', 'view') AND name = ? COLLATE NOCASE UNION ALL SELECT 1 FROM sqlite_temp_schema WHERE type IN ('table', 'view') AND name = ? COLLATE NOCASE",
      params: [name, name],
    }
  }

  tableNamesQuery(): DialectQuery {
    return {
      sql: "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
      params: [],
    }
  }

  dispose(): void {
    this.#memory?.remove()
    this.#memory = null
  }
}
