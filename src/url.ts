/**
 * Database URLs, SQLAlchemy style: the scheme picks the dialect, which parses the rest.
 * `sqlite:` (and `sqlite+better-sqlite3:`) is SQLite; `postgresql:`, `postgres:` and
 * `postgresql+pg:` are PostgreSQL through `pg`.
 */
import type { Dialect } from './dialect.js'
import { PostgresDialect } from './dialects/postgres/dialect.js'
import { SqliteDialect } from './dialects/sqlite/dialect.js'

const DIALECTS: Record<string, (url: string) => Dialect> = {
  sqlite: (url) => new SqliteDialect(url),
  'sqlite+better-sqlite3': (url) => new SqliteDialect(url),
  postgresql: (url) => new PostgresDialect(url),
  postgres: (url) => new PostgresDialect(url),
  'postgresql+pg': (url) => new PostgresDialect(url),
}

/** The dialect for `url`; throws a TypeError for a malformed URL or an unknown scheme. */
export function dialectFor(url: string): Dialect {
  if (typeof url !== 'string') {
    throw new TypeError(`createEngine: url must be a string, got ${typeof url}`)
  }
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url)
  if (!match) {
    throw new TypeError(`createEngine: malformed database URL "${url}" (expected e.g. sqlite:///data.db)`)
  }
  const scheme = match[1]!.toLowerCase()
  const make = DIALECTS[scheme]
  if (!make) {
    throw new TypeError(
      `createEngine: unsupported database URL scheme "${scheme}:" (supported: sqlite:, postgresql:, postgres:, postgresql+pg:)`,
    )
  }
  return make(url)
}
