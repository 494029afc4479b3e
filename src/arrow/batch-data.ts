/**
 * Wraps a batch the worker wrote as Arrow `Data` and `RecordBatch` objects, without copying:
 * every typed array is a view over the batch's SharedArrayBuffer.
 */
import {
  Binary,
  type Data,
  type DataType,
  DenseUnion,
  Field,
  Float64,
  Int64,
  makeData,
  Null,
  type RecordBatch,
  Schema,
  Struct,
  Utf8,
} from 'apache-arrow'
import { type BatchMessage, ColumnKind, type ColumnLayout } from '../thread/protocol.js'
import { recordBatch } from './record-batch.js'
import { typedColumnData, typeOfDesc } from './typed-data.js'

/** Union type codes are the ColumnKind numbers of the children, in this order. */
const UNION_CHILD_KINDS = [
  ColumnKind.Null,
  ColumnKind.Int,
  ColumnKind.Float,
  ColumnKind.Text,
  ColumnKind.Blob,
] as const
const UNION_CHILD_NAMES = ['null', 'int', 'float', 'text', 'blob'] as const

/** The Arrow type of a column of `kind`. */
export function arrowType(kind: ColumnKind): DataType {
  switch (kind) {
    case ColumnKind.Null:
      return new Null()
    case ColumnKind.Int:
      return new Int64()
    case ColumnKind.Float:
      return new Float64()
    case ColumnKind.Text:
      return new Utf8()
    case ColumnKind.Blob:
      return new Binary()
    case ColumnKind.Mixed:
      return new DenseUnion(
        [...UNION_CHILD_KINDS],
        UNION_CHILD_KINDS.map(
          (k, i) => new Field(UNION_CHILD_NAMES[i] as string, arrowType(k), k === ColumnKind.Null),
        ),
      )
    case ColumnKind.Arrow:
      throw new Error('arrowType: a typed column carries its own type (see typed-data.ts)')
  }
}

/** The kind of an Arrow type this module made; `Arrow` for any other type (a typed column). */
export function kindOfType(type: DataType): ColumnKind {
  if (type instanceof Null) return ColumnKind.Null
  if (type instanceof DenseUnion) return ColumnKind.Mixed
  if (type instanceof Int64) return ColumnKind.Int
  if (type instanceof Float64) return ColumnKind.Float
  if (type instanceof Utf8) return ColumnKind.Text
  if (type instanceof Binary) return ColumnKind.Blob
  return ColumnKind.Arrow
}

function columnData(buffer: SharedArrayBuffer, layout: ColumnLayout): Data {
  const n = layout.length
  const validity = layout.validity < 0 ? undefined : new Uint8Array(buffer, layout.validity, (n + 7) >> 3)
  switch (layout.kind) {
    case ColumnKind.Null:
      return makeData({ type: new Null(), length: n })
    case ColumnKind.Int:
      return makeData({
        type: new Int64(),
        length: n,
        nullCount: layout.nullCount,
        nullBitmap: validity,
        data: new BigInt64Array(buffer, layout.values, n),
      })
    case ColumnKind.Float:
      return makeData({
        type: new Float64(),
        length: n,
        nullCount: layout.nullCount,
        nullBitmap: validity,
        data: new Float64Array(buffer, layout.values, n),
      })
    case ColumnKind.Text:
    case ColumnKind.Blob:
      return makeData({
        type: layout.kind === ColumnKind.Text ? new Utf8() : new Binary(),
        length: n,
        nullCount: layout.nullCount,
        nullBitmap: validity,
        valueOffsets: new Int32Array(buffer, layout.offsets, n + 1),
        data: new Uint8Array(buffer, Math.max(layout.values, 0), layout.valuesBytes),
      } as never)
    case ColumnKind.Mixed:
      return makeData({
        type: arrowType(ColumnKind.Mixed) as DenseUnion,
        length: n,
        typeIds: new Int8Array(buffer, layout.typeIds, n),
        valueOffsets: new Int32Array(buffer, layout.offsets, n),
        children: (layout.children ?? []).map((child) => columnData(buffer, child)),
      } as never)
    case ColumnKind.Arrow:
      return typedColumnData(buffer, layout)
  }
}

/** The schema of batches laid out as `columns` (the types alone: no buffer is read). */
export function schemaOf(names: readonly string[], columns: readonly ColumnLayout[]): Schema {
  return new Schema(
    columns.map(
      (layout, i) =>
        new Field(
          names[i] ?? `column${i}`,
          layout.kind === ColumnKind.Arrow ? typeOfDesc(layout.type!) : arrowType(layout.kind),
          true,
        ),
    ),
  )
}

/** A zero-copy RecordBatch over the worker's shared buffer. */
export function toRecordBatch(names: readonly string[], batch: BatchMessage): RecordBatch {
  const children = batch.columns.map((layout) => columnData(batch.buffer, layout))
  const fields = children.map((data, i) => new Field(names[i] ?? `column${i}`, data.type, true))
  const struct = makeData({
    type: new Struct(fields),
    length: batch.numRows,
    nullCount: 0,
    children,
  })
  return recordBatch(new Schema(fields), struct)
}
