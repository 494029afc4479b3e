/**
 * Main-thread side of "Arrow in": recognising Arrow data among `executeMany`'s arguments, moving
 * it into shared memory as an Arrow IPC stream (the worker reads it in place; nothing is
 * structured-cloned), and the SQL `insertArrow` runs.
 */
import { DataType, type RecordBatch, type Schema, Table, tableToIPC } from 'apache-arrow'
import { checkBindable } from './bindable.js'

/**
 * Arrow data `executeMany` and `insertArrow` accept: a Table, or record batches as they come.
 *
 * @inline
 */
export type ArrowData = Table | AsyncIterable<RecordBatch> | Iterable<RecordBatch>

/** A table's rows in shared memory, ready for an `executeArrow` request. */
export interface SharedIPC {
  ipc: SharedArrayBuffer
  byteLength: number
  numRows: number
}

/** Whether `value` is an apache-arrow Table (by shape, so that another copy of the library works). */
export function isArrowTable(value: unknown): value is Table {
  if (value instanceof Table) return true
  const candidate = value as { schema?: unknown; batches?: unknown; numRows?: unknown } | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    Array.isArray(candidate.batches) &&
    typeof candidate.numRows === 'number' &&
    typeof candidate.schema === 'object'
  )
}

function isRecordBatch(value: unknown): value is RecordBatch {
  const candidate = value as { schema?: unknown; numRows?: unknown; data?: unknown } | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.numRows === 'number' &&
    typeof candidate.schema === 'object' &&
    typeof candidate.data === 'object'
  )
}

/**
 * Whether `value` is Arrow data rather than an array of parameter sets: a Table, an async
 * iterable, or an array of RecordBatches (an empty array stays an empty list of sets).
 */
export function isArrowData(value: unknown): value is ArrowData {
  if (Array.isArray(value)) return value.length > 0 && value.every(isRecordBatch)
  if (isArrowTable(value)) return true
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value
}

/** `table`'s schema checked and its rows copied once into shared memory. */
export function shareTable(table: Table, where: string): SharedIPC {
  checkBindable(table.schema, where)
  const bytes = tableToIPC(table, 'stream')
  const ipc = new SharedArrayBuffer(Math.max(bytes.byteLength, 8))
  new Uint8Array(ipc).set(bytes)
  return { ipc, byteLength: bytes.byteLength, numRows: table.numRows }
}

/**
 * Whether `sql` names its parameters (`:x`, `@x`, `$x`) rather than numbering them (`?`): Arrow
 * columns then bind by name. String literals, quoted identifiers and comments are skipped.
 */
export function usesNamedParameters(sql: string): boolean {
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string
    if (c === "'" || c === '"' || c === '`') {
      i = sql.indexOf(c, i + 1)
      if (i < 0) return false
    } else if (c === '[') {
      i = sql.indexOf(']', i + 1)
      if (i < 0) return false
    } else if (c === '-' && sql[i + 1] === '-') {
      i = sql.indexOf('\n', i)
      if (i < 0) return false
    } else if (c === '/' && sql[i + 1] === '*') {
      i = sql.indexOf('*/', i + 2)
      if (i < 0) return false
      i++
    } else if (c === '?') {
      return false
    } else if ((c === ':' || c === '@' || c === '$') && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      return true
    }
  }
  return false
}

/** `name` as an SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** The declared SQLite type of a column created from an Arrow field (its affinity decides storage). */
function declaredType(type: DataType): string {
  if (DataType.isInt(type) || DataType.isBool(type)) return 'INTEGER'
  if (DataType.isFloat(type)) return 'REAL'
  if (DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isFixedSizeBinary(type))
    return 'BLOB'
  if (DataType.isDictionary(type)) return declaredType(type.dictionary)
  // Mixed (union) and NULL columns keep whatever each value is: no declared type, BLOB affinity.
  if (DataType.isUnion(type) || DataType.isNull(type)) return ''
  return 'TEXT'
}

/** `CREATE TABLE IF NOT EXISTS` for `schema`'s columns. */
export function createTableSql(table: string, schema: Schema): string {
  const columns = schema.fields.map((field) =>
    `${quoteIdentifier(field.name)} ${declaredType(field.type)}`.trim(),
  )
  return `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (${columns.join(', ')})`
}

/** An INSERT binding `schema`'s columns by position. */
export function insertSql(table: string, schema: Schema): string {
  const names = schema.fields.map((field) => quoteIdentifier(field.name))
  const marks = names.map(() => '?')
  return `INSERT INTO ${quoteIdentifier(table)} (${names.join(', ')}) VALUES (${marks.join(', ')})`
}
