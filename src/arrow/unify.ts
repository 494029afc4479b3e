/**
 * Gives a list of batches one schema, so they can form one Arrow Table.
 *
 * A SQLite column may hold different storage classes in different batches (integers in one,
 * text in the next) or be all NULL in some. Per column: batches that are all NULL take the type
 * of the others; if the others still disagree, every batch of that column becomes a dense union
 * (its existing data turns into one union child, without copying it).
 */
import { type Data, type DenseUnion, Field, makeData, type RecordBatch, Schema, Struct } from 'apache-arrow'
import { ColumnKind } from '../thread/protocol.js'
import { align8 } from './align.js'
import { arrowType, kindOfType } from './batch-data.js'
import { recordBatch } from './record-batch.js'

/** A column of `length` NULLs of `kind` (zeroed buffers, empty validity). */
function nullColumn(kind: ColumnKind, length: number): Data {
  const type = arrowType(kind)
  const nullBitmap = new Uint8Array(align8((length + 7) >> 3))
  switch (kind) {
    case ColumnKind.Int:
      return makeData({
        type,
        length,
        nullCount: length,
        nullBitmap,
        data: new BigInt64Array(length),
      } as never)
    case ColumnKind.Float:
      return makeData({
        type,
        length,
        nullCount: length,
        nullBitmap,
        data: new Float64Array(length),
      } as never)
    case ColumnKind.Text:
    case ColumnKind.Blob:
      return makeData({
        type,
        length,
        nullCount: length,
        nullBitmap,
        valueOffsets: new Int32Array(length + 1),
        data: new Uint8Array(0),
      } as never)
    default:
      return makeData({ type, length } as never)
  }
}

/** Wraps a plain column as a dense union whose values all come from one child. */
function asUnion(data: Data): Data {
  const kind = kindOfType(data.type)
  const n = data.length
  const typeIds = new Int8Array(n).fill(kind)
  const valueOffsets = new Int32Array(n)
  for (let i = 0; i < n; i++) valueOffsets[i] = i
  const children = [ColumnKind.Null, ColumnKind.Int, ColumnKind.Float, ColumnKind.Text, ColumnKind.Blob].map(
    (k) => (k === kind ? data : nullColumn(k, 0)),
  )
  return makeData({
    type: arrowType(ColumnKind.Mixed) as DenseUnion,
    length: n,
    typeIds,
    valueOffsets,
    children,
  } as never)
}

/**
 * Converts one column's data to `target` kind (only widenings that `unifyBatches` chooses:
 * from all-NULL to any kind, or from any kind to a union).
 */
export function convert(data: Data, target: ColumnKind): Data {
  const kind = kindOfType(data.type)
  if (kind === target) return data
  if (kind === ColumnKind.Null) {
    return target === ColumnKind.Mixed
      ? asUnion(nullColumn(ColumnKind.Null, data.length))
      : nullColumn(target, data.length)
  }
  return asUnion(data)
}

/** The kind every batch of column `c` must take. */
function targetKind(batches: readonly RecordBatch[], c: number): ColumnKind {
  let target: ColumnKind = ColumnKind.Null
  for (const batch of batches) {
    const kind = kindOfType(batch.schema.fields[c]!.type)
    if (kind === ColumnKind.Null || kind === target) continue
    if (target === ColumnKind.Null) target = kind
    else return ColumnKind.Mixed
  }
  return target
}

/** Returns `batches` with one shared schema; batches that already fit are returned as they are. */
export function unifyBatches(batches: readonly RecordBatch[]): RecordBatch[] {
  const first = batches[0]
  if (!first) return []
  const numColumns = first.schema.fields.length
  const targets: ColumnKind[] = []
  for (let c = 0; c < numColumns; c++) targets.push(targetKind(batches, c))
  // A typed column (ColumnKind.Arrow) has one type in every batch: its first batch's.
  const fields = first.schema.fields.map((field, c) =>
    targets[c] === ColumnKind.Arrow ? field : new Field(field.name, arrowType(targets[c]!), true),
  )
  const schema = new Schema(fields)
  return batches.map((batch) => {
    const columns = batch.data.children
    const fits = columns.every((data, c) => kindOfType(data.type) === targets[c])
    if (fits) return recordBatch(schema, batch.data)
    const children = columns.map((data, c) => convert(data, targets[c]!))
    return recordBatch(
      schema,
      makeData({ type: new Struct(fields), length: batch.numRows, nullCount: 0, children }),
    )
  })
}
