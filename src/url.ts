/**
 * SQLAlchemy-style database URLs: `sqlite:///relative.db`, `sqlite:////abs/path.db`,
 * `sqlite://` and `sqlite:///:memory:` (an in-memory database).
 */
import { resolve } from 'node:path'

export interface SqliteTarget {
  dialect: 'sqlite'
  /** Absolute path of the database file, or null for a shared in-memory database. */
  filename: string | null
}

export function parseUrl(url: string): SqliteTarget {
  if (typeof url !== 'string') {
    throw new TypeError(`createEngine: url must be a string, got ${typeof url}`)
  }
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url)
  if (!match) {
    throw new TypeError(`createEngine: malformed database URL "${url}" (expected e.g. sqlite:///data.db)`)
  }
  const scheme = match[1]!.toLowerCase()
  const rest = match[2]!
  if (scheme !== 'sqlite' && scheme !== 'sqlite+better-sqlite3') {
    throw new TypeError(`createEngine: unsupported database URL scheme "${scheme}:" (supported: sqlite:)`)
  }
  if (rest === '' || rest === '/:memory:') return { dialect: 'sqlite', filename: null }
  if (!rest.startsWith('/')) {
    throw new TypeError(
      `createEngine: malformed sqlite URL "${url}": a host is not allowed (use sqlite:///file.db or sqlite:////abs/file.db)`,
    )
  }
  const [path, query] = splitQuery(rest.slice(1))
  if (query !== null) {
    throw new TypeError(
      `createEngine: sqlite URL "${url}" has query parameters, which are not supported; use EngineOptions`,
    )
  }
  if (path === '') {
    throw new TypeError(`createEngine: malformed sqlite URL "${url}": no database path`)
  }
  return { dialect: 'sqlite', filename: resolve(decodeURIComponent(path)) }
}

function splitQuery(s: string): [string, string | null] {
  const q = s.indexOf('?')
  return q < 0 ? [s, null] : [s.slice(0, q), s.slice(q + 1)]
}
