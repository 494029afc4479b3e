/**
 * PostgreSQL's side of the dialect seam on the main thread: URL forms, worker start-up and
 * introspection. The URL is handed to `pg` as a connection string (its scheme normalised to
 * `postgresql:`), so every form `pg` accepts works: `postgresql://user:pass@host:5432/db`,
 * `?sslmode=require`, `?options=-c%20search_path%3Dmy_schema`, a Unix socket `host=` parameter.
 */
import type { Dialect, DialectQuery } from '../../dialect.js'
import type { ResolvedEngineOptions } from '../../options.js'
import type { ChannelOptions } from '../../thread/channel.js'

/**
 * The connection string `pg` gets for an engine URL: `postgres:` and `postgresql+pg:` become
 * `postgresql:`. Throws a TypeError when the URL cannot be parsed.
 *
 * @example
 * ```ts
 * pgConnectionString('postgresql+pg://me@db/app') // 'postgresql://me@db/app'
 * ```
 */
export function pgConnectionString(url: string): string {
  const normalised = `postgresql://${url.slice(url.indexOf('://') + 3)}`
  // WHATWG URL refuses a user before an empty host (`postgresql://me@/db?host=/tmp`), which pg
  // reads as "host from the query": check such a URL with a placeholder host, which it then
  // does not have.
  const emptyHost = /^postgresql:\/\/[^/?#]*@(?=[/?#]|$)/.test(normalised)
  let parsed: URL
  try {
    parsed = new URL(emptyHost ? normalised.replace(/@(?=[/?#]|$)/, '@placeholder') : normalised)
  } catch {
    throw new TypeError(
      `createEngine: malformed PostgreSQL URL "${url}" (expected postgresql://user:pass@host:5432/db)`,
    )
  }
  if ((emptyHost || parsed.hostname === '') && !parsed.searchParams.has('host')) {
    throw new TypeError(
      `createEngine: PostgreSQL URL "${url}" names no host (expected postgresql://user@host/db)`,
    )
  }
  return normalised
}

/**
 * The PostgreSQL dialect of one engine.
 *
 * @example
 * ```ts
 * const dialect = new PostgresDialect('postgres://postgres@127.0.0.1:5432/test')
 * dialect.name // 'postgresql'
 * ```
 */
export class PostgresDialect implements Dialect {
  readonly name = 'postgresql'
  readonly supportsNative = false
  readonly #connectionString: string

  constructor(url: string) {
    this.#connectionString = pgConnectionString(url)
  }

  workerOptions(o: ResolvedEngineOptions): ChannelOptions {
    return {
      dialect: 'postgresql',
      connectionString: this.#connectionString,
      setup: o.setup,
      resourceLimits: o.resourceLimits,
    }
  }

  hasTableQuery(name: string): DialectQuery {
    // Tables, views, materialized views, partitioned and foreign tables on the search path.
    return {
      sql: `SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relname = $1 AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
              AND n.nspname = ANY (pg_catalog.current_schemas(false)) LIMIT 1`,
      params: [name],
    }
  }

  tableNamesQuery(): DialectQuery {
    // The user tables of the first schema on the search path (where CREATE TABLE puts them).
    return {
      sql: `SELECT c.relname::text AS name FROM pg_catalog.pg_class c
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname = pg_catalog.current_schema()
            ORDER BY 1`,
      params: [],
    }
  }

  dispose(): void {}
}
