/**
 * Main-thread side of "Arrow in": recognising Arrow data among `executeMany`'s arguments and
 * moving it into shared memory as an Arrow IPC stream (the worker reads it in place; nothing is
 * structured-cloned).
 */
import { createRequire } from 'node:module'
import { RecordBatch, Table, tableToIPC } from 'apache-arrow'
import { checkBindable } from './bindable.js'

/**
 * apache-arrow's other build. `import` loads its ES module build and `require` its CommonJS one:
 * two copies of every class, so a Table made by `require('apache-arrow')` is no instance of the
 * classes imported here, and this build's functions misread it (silently: an IPC stream with no
 * rows). Such data is written with its own build's functions. Loaded only when met.
 */
let commonJsArrow: typeof import('apache-arrow') | undefined
function otherArrow(): typeof import('apache-arrow') {
  commonJsArrow ??= createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow')
  return commonJsArrow
}

/**
 * Whether `value` was made by `Class` itself. apache-arrow's `instanceof` also answers true for
 * the other build's objects (by a marker), which its functions then misread.
 */
function madeBy(Class: abstract new (...args: never[]) => unknown, value: unknown): boolean {
  return Function.prototype[Symbol.hasInstance].call(Class, value)
}

/** `table` as an Arrow IPC stream, written by the apache-arrow build that made it. */
function ipcOf(table: Table, where: string): Uint8Array {
  if (madeBy(Table, table)) return tableToIPC(table, 'stream')
  const other = otherArrow()
  if (madeBy(other.Table, table)) return other.tableToIPC(table as never, 'stream')
  throw new TypeError(
    `${where}: the Arrow data comes from another Arrow library or copy of apache-arrow: pass a Table of the apache-arrow that sqlaio uses (e.g. tableFromIPC of its IPC bytes)`,
  )
}

/** A Table of one record batch, made by the apache-arrow build that made the batch. */
export function tableOfBatch(batch: RecordBatch): Table {
  if (madeBy(RecordBatch, batch)) return new Table(batch)
  const other = otherArrow()
  if (madeBy(other.RecordBatch, batch)) return new other.Table(batch as never) as unknown as Table
  throw new TypeError(
    'the Arrow data comes from another Arrow library or copy of apache-arrow: pass record batches of the apache-arrow that sqlaio uses',
  )
}

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
  const bytes = ipcOf(table, where)
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
