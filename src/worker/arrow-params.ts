/**
 * Worker side of "Arrow in": the parameter sets of an `executeMany` whose data is Arrow. The
 * main thread wrote the table as an Arrow IPC stream into a SharedArrayBuffer; it is read here in
 * place (apache-arrow's reader makes views over the buffer), and each row becomes one parameter
 * set, produced lazily while the driver runs the statement, by position or by column name
 * (the native path binds most column types in C instead: dialects/sqlite/native-arrow.ts).
 */
import { type RecordBatch, tableFromIPC, type Vector } from 'apache-arrow'
import { binderOf, type ValueBinder } from '../arrow/bindable.js'
import type { BoundParams, BoundValue } from '../thread/protocol.js'

interface BoundColumn {
  name: string
  vector: Vector
  bind: ValueBinder
}

function columnsOf(batch: RecordBatch): BoundColumn[] {
  return batch.schema.fields.map((field, i) => {
    const bind = binderOf(field.type)
    // The main thread checked the schema before sending it.
    if (!bind) throw new TypeError(`column "${field.name}" has no SQLite equivalent`)
    return { name: field.name, vector: batch.getChildAt(i) as Vector, bind }
  })
}

function valueAt(column: BoundColumn, row: number): BoundValue {
  const value = column.vector.get(row)
  return value === null || value === undefined ? null : column.bind(value)
}

/** The record batches of the IPC stream in `buffer[0, byteLength)`, read in place. */
export function batchesFromIPC(buffer: SharedArrayBuffer, byteLength: number): RecordBatch[] {
  return tableFromIPC(new Uint8Array(buffer, 0, byteLength)).batches
}

/** One parameter set per row of `batch`, by column position or by column name. */
export function* paramsOfBatch(batch: RecordBatch, byName: boolean): Generator<BoundParams> {
  const columns = columnsOf(batch)
  for (let row = 0; row < batch.numRows; row++) {
    if (byName) {
      const set: Record<string, BoundValue> = {}
      for (const column of columns) set[column.name] = valueAt(column, row)
      yield set
    } else {
      yield columns.map((column) => valueAt(column, row))
    }
  }
}
