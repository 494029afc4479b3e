/**
 * What `execute` accepts as a statement and its parameters, checked on the main thread so that a
 * bad value fails with a TypeError naming it before anything reaches the worker.
 */
import type { BoundParams, BoundValue } from './thread/protocol.js'

/**
 * A compiled query, such as Kysely's `CompiledQuery`.
 *
 * @example
 * ```ts
 * await engine.execute({ sql: 'SELECT * FROM users WHERE id = ?', parameters: [42] })
 * ```
 */
export interface CompiledQuery {
  /** The SQL text, with `?` placeholders (or `$1`, `$2`… on PostgreSQL). */
  readonly sql: string
  /** The values bound to the placeholders, in order. */
  readonly parameters: readonly unknown[]
}

/**
 * A SQL string, a compiled query, or anything with a `compile()` method returning one.
 *
 * @example
 * ```ts
 * await engine.execute(db.selectFrom('users').selectAll().where('id', '=', 42)) // a Kysely query
 * ```
 */
export type Statement =
  | string
  | CompiledQuery
  | {
      /** Compiles the query builder's query into SQL text and parameters. */
      compile(): CompiledQuery
    }

/**
 * Positional (`?`) parameters as an array, or named (`:x`, `@x`, `$x`) ones as an object.
 *
 * @example
 * ```ts
 * await engine.execute('SELECT * FROM users WHERE id = ?', [42])
 * await engine.execute('SELECT * FROM users WHERE name = :name', { name: 'Dana' })
 * ```
 */
export type Params = readonly unknown[] | Readonly<Record<string, unknown>>

/**
 * Checks and converts one value. `key` (a position from 0, or a name) and `where` describe it
 * only in an error, so that the common case builds no string (executeMany binds millions).
 */
function bindValue(value: unknown, key: number | string, where: Where): BoundValue {
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'string':
      return value
    case 'boolean':
      return value ? 1 : 0
    case 'undefined':
      return null
    case 'object':
      if (value === null) return null
      if (value instanceof Uint8Array) return value
      break
  }
  const kind =
    value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value
  const label = typeof key === 'number' ? `parameter ${key + 1}` : `parameter "${key}"`
  throw new TypeError(
    `${describe(where)}: ${label} is of unsupported type ${kind} (expected null, number, bigint, string, boolean or Uint8Array)`,
  )
}

/** The call a value belongs to, for error messages: a name, or a name and a parameter set. */
export type Where = string | { call: string; set: number }

const describe = (where: Where): string =>
  typeof where === 'string' ? where : `${where.call} (set ${where.set + 1})`

export function bindParams(params: unknown, where: Where): BoundParams {
  if (params === undefined || params === null) return []
  if (Array.isArray(params)) {
    const bound: BoundValue[] = new Array(params.length)
    for (let i = 0; i < params.length; i++) bound[i] = bindValue(params[i], i, where)
    return bound
  }
  // Named values come in a plain object, as better-sqlite3 takes them: a Date, a Buffer or a Map
  // is a single value (or a mistake), not a set of names.
  const prototype = typeof params === 'object' ? Object.getPrototypeOf(params) : undefined
  if (prototype !== Object.prototype && prototype !== null) {
    const got = typeof params === 'object' ? (prototype?.constructor?.name ?? 'object') : typeof params
    throw new TypeError(
      `${describe(where)}: params must be an array or a plain object of named values, got ${got} (wrap a single value in an array)`,
    )
  }
  const named: Record<string, BoundValue> = {}
  for (const [key, value] of Object.entries(params)) {
    // better-sqlite3 wants bare names; accept the prefixed spelling too.
    const name = /^[:@$]/.test(key) ? key.slice(1) : key
    named[name] = bindValue(value, key, where)
  }
  return named
}

function isCompiled(value: unknown): value is CompiledQuery {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as CompiledQuery).sql === 'string' &&
    Array.isArray((value as CompiledQuery).parameters)
  )
}

/** Normalises a statement and its parameters into SQL text and bound values. */
export function toStatement(
  statement: unknown,
  params: unknown,
  where: string,
): { sql: string; params: BoundParams } {
  if (typeof statement === 'string') return { sql: statement, params: bindParams(params, where) }
  let compiled: unknown = statement
  if (
    typeof statement === 'object' &&
    statement !== null &&
    typeof (statement as { compile?: unknown }).compile === 'function'
  ) {
    compiled = (statement as { compile(): unknown }).compile()
  }
  if (isCompiled(compiled)) {
    if (params !== undefined) {
      throw new TypeError(`${where}: a compiled query carries its own parameters; do not pass params too`)
    }
    return { sql: compiled.sql, params: bindParams(compiled.parameters, where) }
  }
  throw new TypeError(
    `${where}: sql must be a string, a compiled query {sql, parameters}, or an object with compile(); got ${statement === null ? 'null' : typeof statement}`,
  )
}
