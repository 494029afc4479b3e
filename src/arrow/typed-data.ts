/**
 * Columns of `ColumnKind.Arrow` (a server database's typed columns): their Arrow `DataType`
 * from the plain type descriptor, and zero-copy Arrow `Data` over the batch's shared buffer.
 * One table of types here, so adding a type touches this file, the row decoder, and the
 * dialect's decoder, not every switch of the SQLite kinds.
 */
import {
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  IntervalMonthDayNano,
  List,
  makeData,
  TimeMicrosecond,
  TimestampMicrosecond,
  Uint32,
  Utf8,
} from 'apache-arrow'
import type { ArrowTypeDesc, ColumnLayout } from '../thread/protocol.js'

/** The Arrow type a descriptor names. */
export function typeOfDesc(desc: ArrowTypeDesc): DataType {
  switch (desc.id) {
    case 'bool':
      return new Bool()
    case 'int':
      return desc.bits === 16 ? new Int16() : desc.bits === 32 ? new Int32() : new Int64()
    case 'uint32':
      return new Uint32()
    case 'float':
      return desc.bits === 32 ? new Float32() : new Float64()
    case 'utf8':
      return new Utf8()
    case 'binary':
      return new Binary()
    case 'decimal':
      return new Decimal(desc.scale, desc.precision, 128)
    case 'date32':
      return new DateDay()
    case 'timestamp':
      return new TimestampMicrosecond(desc.tz)
    case 'time64':
      return new TimeMicrosecond()
    case 'interval':
      return new IntervalMonthDayNano()
    case 'list':
      return new List(new Field('item', typeOfDesc(desc.child), true))
  }
}

/** Typed-array elements per value of a fixed-width type's data buffer. */
function stride(desc: ArrowTypeDesc): number {
  switch (desc.id) {
    case 'decimal':
      return 4
    case 'interval':
      return 4
    default:
      return 1
  }
}

/** Zero-copy Arrow Data for a typed column. */
export function typedColumnData(buffer: SharedArrayBuffer, layout: ColumnLayout): Data {
  const desc = layout.type!
  const type = typeOfDesc(desc)
  const n = layout.length
  const nullBitmap = layout.validity < 0 ? undefined : new Uint8Array(buffer, layout.validity, (n + 7) >> 3)
  const common = { type, length: n, nullCount: layout.nullCount, nullBitmap }
  switch (desc.id) {
    case 'utf8':
    case 'binary':
      return makeData({
        ...common,
        valueOffsets: new Int32Array(buffer, layout.offsets, n + 1),
        data: new Uint8Array(buffer, Math.max(layout.values, 0), layout.valuesBytes),
      } as never)
    case 'list':
      return makeData({
        ...common,
        valueOffsets: new Int32Array(buffer, layout.offsets, n + 1),
        child: typedColumnData(buffer, layout.children![0]!),
      } as never)
    case 'bool':
      return makeData({
        ...common,
        data: new Uint8Array(buffer, Math.max(layout.values, 0), layout.valuesBytes),
      } as never)
    case 'interval':
      return makeData({ ...common, data: new Int32Array(buffer, Math.max(layout.values, 0), n * 4) } as never)
    default: {
      const ArrayType = (
        type as DataType & { ArrayType: new (b: ArrayBufferLike, o: number, l: number) => unknown }
      ).ArrayType
      return makeData({
        ...common,
        data: new ArrayType(buffer, Math.max(layout.values, 0), n * stride(desc)),
      } as never)
    }
  }
}
