/**
 * Arrow in on the native path: the columns of a record batch described for the addon, which binds
 * them row by row straight from their Arrow buffers (native/src/arrow.c), with the values the JS
 * path gets from better-sqlite3 (src/arrow/bindable.ts). Only types whose value binds as it is
 * are described; a batch with any other column (a date, a decimal, a dictionary, a union, a
 * Float16) is bound through JS values instead, with identical results.
 */
import { type Data, type DataType, Precision, type RecordBatch, DataType as Types } from 'apache-arrow'

/** Arrow types the addon binds (native/src/sqlaio.h numbers them the same). */
const Kind = {
  Null: 0,
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  Uint8: 5,
  Uint16: 6,
  Uint32: 7,
  Uint64: 8,
  Float32: 9,
  Float64: 10,
  Bool: 11,
  Utf8: 12,
  LargeUtf8: 13,
  Binary: 14,
  LargeBinary: 15,
  FixedSizeBinary: 16,
} as const

/** One column as the addon reads it: its buffers, borrowed for the call. */
export interface NativeArrowColumn {
  /** The column's name, which a named parameter binds by. */
  name: string
  kind: number
  /** The validity bitmap; null when the column has no nulls. */
  validity: Uint8Array | null
  /** The bit of the first row in `validity` (and in a Bool column's values). */
  offset: number
  values: ArrayBufferView | null
  /** Variable-width columns: where each value starts in `values`, one more than the rows. */
  offsets: Int32Array | BigInt64Array | null
  /** Fixed-size binary: bytes per value. */
  width: number
}

function kindOf(type: DataType): number | null {
  if (Types.isNull(type)) return Kind.Null
  if (Types.isInt(type)) {
    const bits = { 8: 0, 16: 1, 32: 2, 64: 3 }[type.bitWidth as 8 | 16 | 32 | 64]
    return (type.isSigned ? Kind.Int8 : Kind.Uint8) + bits
  }
  if (Types.isFloat(type)) {
    if (type.precision === Precision.SINGLE) return Kind.Float32
    return type.precision === Precision.DOUBLE ? Kind.Float64 : null
  }
  if (Types.isBool(type)) return Kind.Bool
  if (Types.isUtf8(type)) return Kind.Utf8
  if (Types.isLargeUtf8(type)) return Kind.LargeUtf8
  if (Types.isBinary(type)) return Kind.Binary
  if (Types.isLargeBinary(type)) return Kind.LargeBinary
  if (Types.isFixedSizeBinary(type)) return Kind.FixedSizeBinary
  return null
}

function describe(name: string, data: Data, kind: number): NativeArrowColumn {
  return {
    name,
    kind,
    validity: data.nullCount > 0 ? data.nullBitmap : null,
    offset: data.offset,
    values: kind === Kind.Null ? null : data.values,
    offsets: data.valueOffsets ?? null,
    width: Types.isFixedSizeBinary(data.type) ? data.type.byteWidth : 0,
  }
}

/** The batch's columns for the addon, or null when one of them must be bound through JS. */
export function nativeColumns(batch: RecordBatch): NativeArrowColumn[] | null {
  const columns: NativeArrowColumn[] = []
  for (const [i, data] of batch.data.children.entries()) {
    const kind = kindOf(data.type)
    if (kind === null) return null
    columns.push(describe(batch.schema.fields[i]!.name, data, kind))
  }
  return columns
}
