/**
 * Just enough of PostgreSQL's lexer to rewrite a statement safely: find `$n` placeholders and
 * the statement's end outside string literals, quoted identifiers, dollar-quoted strings and
 * comments. Used to run a row-returning statement as `COPY (…) TO STDOUT (FORMAT binary)`, which
 * takes no parameters: each `$n` becomes a string literal of its value (an untyped literal
 * resolves to the same type as `pg`'s untyped text parameter would).
 */
import type { BoundValue } from '../../thread/protocol.js'

interface Scan {
  /** Byte-free positions of `$n` placeholders: [start, end, n]. */
  placeholders: [number, number, number][]
  /** The statement without trailing semicolons, whitespace and comments. */
  end: number
}

function scan(sql: string): Scan {
  const placeholders: [number, number, number][] = []
  let end = 0
  let i = 0
  const n = sql.length
  while (i < n) {
    const c = sql[i]!
    if (c === "'" || c === '"') {
      // E'...' strings may escape a quote with a backslash; standard ones double it.
      const escapes = c === "'" && i > 0 && /[eE]/.test(sql[i - 1]!) && !/[\w$]/.test(sql[i - 2] ?? ' ')
      i++
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2
        else if (sql[i] === c) {
          if (sql[i + 1] === c) i += 2
          else break
        } else i++
      }
      i++
      end = i
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 1
      i += 2
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++
          i += 2
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--
          i += 2
        } else i++
      }
    } else if (c === '$') {
      const param = /^\$(\d+)/.exec(sql.slice(i, i + 12))
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))
      if (param && !/[\w]/.test(sql[i - 1] ?? ' ')) {
        placeholders.push([i, i + param[0].length, Number(param[1])])
        i += param[0].length
      } else if (tag && !/[\w]/.test(sql[i - 1] ?? ' ')) {
        const close = sql.indexOf(tag[0], i + tag[0].length)
        i = close < 0 ? n : close + tag[0].length
      } else i++
      end = i
    } else {
      if (c !== ';' && !/\s/.test(c)) end = i + 1
      i++
    }
  }
  return { placeholders, end }
}

/** A PostgreSQL string literal of `value`, valid whatever `standard_conforming_strings` is. */
export function literal(value: BoundValue): string {
  if (value === null) return 'NULL'
  if (value instanceof Uint8Array)
    return `'\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}'`
  const text = String(value)
  if (text.includes('\0')) throw new RangeError('PostgreSQL text cannot contain the character U+0000')
  return `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
}

/**
 * `sql` with trailing semicolons and comments removed and each `$n` replaced by the literal
 * of `params[n - 1]`.
 *
 * @example
 * ```ts
 * inlineParams('SELECT * FROM t WHERE a = $1; -- x', ["it's"]) // "SELECT * FROM t WHERE a = E'it''s'"
 * ```
 */
export function inlineParams(sql: string, params: readonly BoundValue[]): string {
  const { placeholders, end } = scan(sql)
  let out = ''
  let at = 0
  for (const [start, stop, n] of placeholders) {
    if (start >= end) break
    if (n < 1 || n > params.length) {
      throw new RangeError(`parameter $${n} has no value: ${params.length} parameter(s) given`)
    }
    out += sql.slice(at, start) + literal(params[n - 1]!)
    at = stop
  }
  return out + sql.slice(at, end)
}

/** The statement's first keyword, lower-cased (after comments and opening parentheses). */
export function firstKeyword(sql: string): string {
  const match = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/.exec(sql)
  return match ? match[1]!.toLowerCase() : ''
}
