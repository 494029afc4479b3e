/**
 * Gives a stream of batches one schema, for formats that write their schema before the rows
 * (Arrow IPC, Parquet) and cannot hold every batch in memory to decide it.
 *
 * A SQLite column's Arrow type is decided batch by batch (a column may hold integers in one
 * batch and text in the next, or only NULLs). Reading one batch ahead, the schema is the
 * unification of the first two batches (so a one- or two-batch result is typed exactly as
 * `toArrow()` types it). Later batches are converted to it: all-NULL columns take the schema's
 * type, and any type fits a union column. A column still all NULL after two batches becomes a
 * union when `nullColumns` is 'union' (lossless whatever follows), else it stays Null. A later
 * batch that fits no conversion (a column typed Int64 by the first batches that now holds text)
 * is an IncompatibleBatchError naming the column: the schema is already written.
 */
import { type Data, type DataType, Field, makeData, type RecordBatch, Schema, Struct } from 'apache-arrow'
import { arrowType, kindOfType } from '../arrow/batch-data.js'
import { recordBatch } from '../arrow/record-batch.js'
import { convert, unifyBatches } from '../arrow/unify.js'
import { ColumnKind } from '../thread/protocol.js'

/**
 * A streamed write (Arrow IPC, Parquet) met a batch whose column types cannot be converted to
 * the schema it had already written (code `ERR_SQLAIO_SCHEMA_CHANGED`).
 *
 * @example
 * ```ts
 * try {
 *   await result.writeIPC('out.arrow')
 * } catch (error) {
 *   if (error instanceof IncompatibleBatchError) console.error(error.message) // names the column
 * }
 * ```
 */
export class IncompatibleBatchError extends Error {
  /** Always `'ERR_SQLAIO_SCHEMA_CHANGED'`. */
  readonly code = 'ERR_SQLAIO_SCHEMA_CHANGED'
  constructor(column: string, written: DataType, found: DataType, row: number) {
    super(
      `column "${column}" was written as ${written} but the batch starting at row ${row} holds ${found}; ` +
        `CAST it in the SQL (e.g. CAST(${column} AS TEXT)) so every row has one type, ` +
        'or use toArrow() or toIPC(), which read every row before choosing the types',
    )
    this.name = 'IncompatibleBatchError'
  }
}

/** What to do with a column that is all NULL in the first two batches of a longer result (internal). */
export type NullColumns = 'union' | 'null'

/** Converts `batch` to `schema`, or throws when a column does not fit. */
function conform(batch: RecordBatch, schema: Schema, row: number): RecordBatch {
  const columns = batch.data.children
  const targets = schema.fields.map((field) => kindOfType(field.type))
  if (columns.every((data, c) => kindOfType(data.type) === targets[c])) return recordBatch(schema, batch.data)
  const children = columns.map((data: Data, c) => {
    const kind = kindOfType(data.type)
    const target = targets[c]!
    if (kind === target || kind === ColumnKind.Null || target === ColumnKind.Mixed)
      return convert(data, target)
    const field = schema.fields[c]!
    throw new IncompatibleBatchError(field.name, field.type, data.type, row)
  })
  return recordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }),
  )
}

/**
 * Yields the batches of `source` converted to one schema. An empty source yields nothing (the
 * caller writes the result's own schema then).
 */
export async function* stableBatches(
  source: AsyncIterable<RecordBatch>,
  nullColumns: NullColumns,
): AsyncGenerator<RecordBatch> {
  const iterator = source[Symbol.asyncIterator]()
  try {
    const first = await iterator.next()
    if (first.done) return
    const second = await iterator.next()
    const head = second.done ? [first.value] : [first.value, second.value]
    let unified = unifyBatches(head)
    if (!second.done && nullColumns === 'union') {
      const fields = unified[0]!.schema.fields.map((field) =>
        kindOfType(field.type) === ColumnKind.Null
          ? new Field(field.name, arrowType(ColumnKind.Mixed), true)
          : field,
      )
      const schema = new Schema(fields)
      unified = head.map((batch) => conform(batch, schema, 0))
    }
    const schema = unified[0]!.schema
    let row = 0
    for (const batch of unified) {
      yield batch
      row += batch.numRows
    }
    for (;;) {
      const next = await iterator.next()
      if (next.done) return
      yield conform(next.value, schema, row)
      row += next.value.numRows
    }
  } finally {
    await iterator.return?.()
  }
}
