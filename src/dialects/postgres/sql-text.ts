/**
 * What the driver needs to know of a statement's text without parsing it: its first keyword,
 * which says whether it may change what other statements describe to (DDL, search_path, a
 * rollback that undoes DDL) and whether it is a plain read that is safe to run again.
 */

/** The statement's first keyword, lower-cased (after comments and opening parentheses). */
export function firstKeyword(sql: string): string {
  const match = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/.exec(sql)
  return match ? match[1]!.toLowerCase() : ''
}

/** Transaction control that changes no statement's description (ROLLBACK may: it undoes DDL). */
const NEUTRAL = new Set(['begin', 'start', 'commit', 'end', 'savepoint', 'release'])
/** Statements that may change the description of others. */
const CHANGING = new Set([
  'create',
  'alter',
  'drop',
  'set',
  'reset',
  'discard',
  'rollback',
  'abort',
  'do',
  'call',
  'import',
])

/**
 * Whether running `sql` may change the description (parameters, result columns) of other
 * statements on this connection. A script counts as changing unless it is a single neutral
 * transaction-control statement.
 *
 * @example
 * ```ts
 * mayChangeDescriptions('ALTER TABLE t ADD c int') // true
 * mayChangeDescriptions('COMMIT') // false
 * ```
 */
export function mayChangeDescriptions(sql: string, script = false): boolean {
  const keyword = firstKeyword(sql)
  if (script) return !(NEUTRAL.has(keyword) && !/;\s*\S/.test(sql))
  return CHANGING.has(keyword)
}

/** Whether `sql` is a plain read (no data-modifying statement at its start) that may run again. */
export function isPlainRead(sql: string): boolean {
  const keyword = firstKeyword(sql)
  return keyword === 'select' || keyword === 'values' || keyword === 'table' || keyword === 'show'
}
