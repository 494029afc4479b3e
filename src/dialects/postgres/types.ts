/**
 * PostgreSQL types as a table: for each type OID, the Arrow type of its column and the decoder
 * of its BINARY wire form (big-endian, as the extended protocol sends it) into a ColumnBuilder.
 * A type missing here is not decoded: the driver asks for that column in text form (its type's
 * output function), so it arrives as Utf8.
 *
 * | PostgreSQL                       | Arrow                                   |
 * |----------------------------------|-----------------------------------------|
 * | int2 / int4 / int8               | Int16 / Int32 / Int64                   |
 * | oid                              | Uint32                                  |
 * | float4 / float8                  | Float32 / Float64                       |
 * | numeric(p, s), p ≤ 38            | Decimal128(p, s)                        |
 * | numeric (no typmod, or p > 38)   | Utf8 (text form)                        |
 * | bool                             | Bool                                    |
 * | text, varchar, bpchar, name      | Utf8                                    |
 * | json, jsonb                      | Utf8 (JSON text)                        |
 * | uuid                             | Utf8 (canonical text form)              |
 * | bytea                            | Binary                                  |
 * | date                             | Date32 (days)                           |
 * | timestamp / timestamptz          | Timestamp µs (tz null / "UTC")          |
 * | time                             | Time64 µs                               |
 * | interval                         | Interval MonthDayNano                   |
 * | one-dimensional arrays of these  | List of the element type                |
 * | anything else (enums, inet, …)   | Utf8 (text form)                        |
 */
import type { ArrowTypeDesc } from '../../thread/protocol.js'
import type { ColumnBuilder } from './column-builder.js'

/** Appends the value in `buf[off, off + len)` to `b`. */
export type Decode = (b: ColumnBuilder, buf: Buffer, off: number, len: number) => void

export interface PgType {
  desc: ArrowTypeDesc
  decode: Decode
}

/** Microseconds and days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
const EPOCH_US = 946684800000000n
const EPOCH_DAYS = 10957
const INT64_MAX = 0x7fffffffffffffffn
const INT64_MIN = -0x8000000000000000n

const int16: Decode = (b, buf, off) => {
  const at = b.fixed()
  b.view.setInt16(at, buf.readInt16BE(off), true)
}
const int32: Decode = (b, buf, off) => {
  const at = b.fixed()
  b.view.setInt32(at, buf.readInt32BE(off), true)
}
const oid: Decode = (b, buf, off) => {
  const at = b.fixed()
  b.view.setUint32(at, buf.readUInt32BE(off), true)
}
const int64: Decode = (b, buf, off) => {
  const at = b.fixed()
  b.view.setUint32(at, buf.readUInt32BE(off + 4), true)
  b.view.setInt32(at + 4, buf.readInt32BE(off), true)
}
const float32: Decode = (b, buf, off) => {
  const at = b.fixed()
  b.view.setFloat32(at, buf.readFloatBE(off), true)
}
const float64: Decode = (b, buf, off) => {
  const at = b.fixed()
  b.view.setFloat64(at, buf.readDoubleBE(off), true)
}
const bool: Decode = (b, buf, off) => b.bool(buf[off] !== 0)
const bytes: Decode = (b, buf, off, len) => b.append(buf, off, off + len)
/** jsonb's binary form is a version byte (1) and the JSON text. */
const jsonb: Decode = (b, buf, off, len) => b.append(buf, off + 1, off + len)
const date: Decode = (b, buf, off) => {
  const days = buf.readInt32BE(off)
  // ±infinity (INT32_MAX / INT32_MIN) stay as they are.
  const shifted = days === 0x7fffffff || days === -0x80000000 ? days : days + EPOCH_DAYS
  const at = b.fixed()
  b.view.setInt32(at, shifted, true)
}
const timestamp: Decode = (b, buf, off) => {
  const us = buf.readBigInt64BE(off)
  const unix = us === INT64_MAX || us === INT64_MIN ? us : us + EPOCH_US
  // PostgreSQL counts from 2000 and allows years to 294276; from 1970 the last 29 years overflow.
  if (unix > INT64_MAX) {
    throw new RangeError(
      "a timestamp after 294247-01-10 is beyond Arrow's Timestamp (µs since 1970 in 64 bits): cast the column to text",
    )
  }
  const at = b.fixed()
  b.view.setBigInt64(at, unix, true)
}
const time: Decode = (b, buf, off) => {
  const at = b.fixed()
  b.view.setBigInt64(at, buf.readBigInt64BE(off), true)
}
/** Wire: Int64 µs, Int32 days, Int32 months. Arrow: Int32 months, Int32 days, Int64 ns. */
const interval: Decode = (b, buf, off) => {
  const ns = buf.readBigInt64BE(off) * 1000n
  if (ns > INT64_MAX || ns < INT64_MIN) {
    throw new RangeError(
      `an interval whose time part is ${ns / 3_600_000_000_000n} hours is beyond Arrow's MonthDayNano (±2^63 ns, about 2,562,047 hours): cast the column to text`,
    )
  }
  const at = b.fixed()
  b.view.setInt32(at, buf.readInt32BE(off + 12), true)
  b.view.setInt32(at + 4, buf.readInt32BE(off + 8), true)
  b.view.setBigInt64(at + 8, ns, true)
}
const uuid: Decode = (b, buf, off) => {
  const hex = buf.toString('hex', off, off + 16)
  b.appendString(
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
  )
}

/** numeric's text form from its binary form (base-10000 digits), as PostgreSQL prints it. */
export function numericText(buf: Buffer, off: number): string {
  const ndigits = buf.readInt16BE(off)
  const weight = buf.readInt16BE(off + 2)
  const sign = buf.readUInt16BE(off + 4)
  const dscale = buf.readInt16BE(off + 6)
  if (sign === 0xc000) return 'NaN'
  if (sign === 0xd000) return 'Infinity'
  if (sign === 0xf000) return '-Infinity'
  const digit = (i: number): number => (i >= 0 && i < ndigits ? buf.readInt16BE(off + 8 + 2 * i) : 0)
  let int = ''
  for (let i = 0; i <= weight; i++) int += i === 0 ? String(digit(i)) : String(digit(i)).padStart(4, '0')
  if (int === '') int = '0'
  let frac = ''
  for (let i = weight + 1; frac.length < dscale; i++) frac += String(digit(i)).padStart(4, '0')
  const text = dscale > 0 ? `${int}.${frac.slice(0, dscale)}` : int
  return sign === 0x4000 ? `-${text}` : text
}

const numericUtf8: Decode = (b, buf, off) => b.appendString(numericText(buf, off))

function numericDecimal(scale: number): Decode {
  return (b, buf, off) => {
    const text = numericText(buf, off)
    if (text === 'NaN' || text.endsWith('Infinity')) {
      throw new RangeError(
        `numeric ${text} cannot be stored in an Arrow Decimal128 column: cast the column to text or float8`,
      )
    }
    const [int, frac = ''] = text.split('.')
    const unscaled = BigInt(int! + frac.padEnd(scale, '0'))
    const at = b.fixed()
    b.view.setBigUint64(at, BigInt.asUintN(64, unscaled), true)
    b.view.setBigInt64(at + 8, BigInt.asIntN(64, unscaled >> 64n), true)
  }
}

const SCALARS: Record<number, PgType> = {
  16: { desc: { id: 'bool' }, decode: bool },
  17: { desc: { id: 'binary' }, decode: bytes },
  19: { desc: { id: 'utf8' }, decode: bytes },
  20: { desc: { id: 'int', bits: 64 }, decode: int64 },
  21: { desc: { id: 'int', bits: 16 }, decode: int16 },
  23: { desc: { id: 'int', bits: 32 }, decode: int32 },
  26: { desc: { id: 'uint32' }, decode: oid },
  25: { desc: { id: 'utf8' }, decode: bytes },
  114: { desc: { id: 'utf8', hint: 'json' }, decode: bytes },
  700: { desc: { id: 'float', bits: 32 }, decode: float32 },
  701: { desc: { id: 'float', bits: 64 }, decode: float64 },
  1042: { desc: { id: 'utf8' }, decode: bytes },
  1043: { desc: { id: 'utf8' }, decode: bytes },
  1082: { desc: { id: 'date32' }, decode: date },
  1083: { desc: { id: 'time64' }, decode: time },
  1114: { desc: { id: 'timestamp', tz: null }, decode: timestamp },
  1184: { desc: { id: 'timestamp', tz: 'UTC' }, decode: timestamp },
  1186: { desc: { id: 'interval' }, decode: interval },
  2950: { desc: { id: 'utf8' }, decode: uuid },
  3802: { desc: { id: 'utf8', hint: 'json' }, decode: jsonb },
}

/** Array OID → element OID. */
const ARRAYS: Record<number, number> = {
  1000: 16,
  1001: 17,
  1016: 20,
  1028: 26,
  1005: 21,
  1007: 23,
  1009: 25,
  199: 114,
  1021: 700,
  1022: 701,
  1014: 1042,
  1015: 1043,
  1182: 1082,
  1183: 1083,
  1115: 1114,
  1185: 1184,
  1187: 1186,
  2951: 2950,
  3807: 3802,
  1231: 1700,
}

function numericType(typmod: number): PgType {
  // typmod = ((precision << 16) | (scale & 0x7ff)) + 4, the scale an 11-bit signed number
  // (negative since PostgreSQL 15); -1 when the column has none. A negative scale keeps the text
  // form, as `pg` shows it.
  if (typmod >= 4) {
    const precision = ((typmod - 4) >> 16) & 0xffff
    const scale = ((((typmod - 4) & 0x7ff) ^ 0x400) - 0x400) | 0
    if (precision <= 38 && scale >= 0) {
      return { desc: { id: 'decimal', precision, scale }, decode: numericDecimal(scale) }
    }
  }
  return { desc: { id: 'utf8' }, decode: numericUtf8 }
}

function listDecode(element: Decode): Decode {
  return (b, buf, off) => {
    const ndim = buf.readInt32BE(off)
    const child = b.child!
    if (ndim > 1) {
      throw new RangeError(
        'multidimensional PostgreSQL arrays are not supported: cast the column to text or unnest it',
      )
    }
    if (ndim === 1) {
      const count = buf.readInt32BE(off + 12)
      let at = off + 20
      for (let i = 0; i < count; i++) {
        const len = buf.readInt32BE(at)
        at += 4
        if (len < 0) child.appendNull()
        else {
          element(child, buf, at, len)
          at += len
        }
      }
    }
    b.endList()
  }
}

/** Types made from their OID and modifier (numeric, arrays), one object each: see `pgType`. */
const COMPOSED = new Map<string, PgType | null>()
/** Distinct composed types kept; past this the table starts afresh. */
const COMPOSED_MAX = 1024

/**
 * The Arrow type and decoder of a result column, from its type OID and type modifier; null for
 * a type decoded from its text form instead. The same column type gives the same object every
 * time, so that its Arrow type can key the column builders a connection keeps (tuples.ts).
 *
 * @example
 * ```ts
 * pgType(23, -1)?.desc // { id: 'int', bits: 32 }
 * pgType(1700, (10 << 16) + 2 + 4)?.desc // { id: 'decimal', precision: 10, scale: 2 }
 * ```
 */
export function pgType(oid: number, typmod: number): PgType | null {
  const scalar = SCALARS[oid]
  if (scalar) return scalar
  const key = `${oid}:${typmod}`
  let type = COMPOSED.get(key)
  if (type === undefined) {
    if (COMPOSED.size >= COMPOSED_MAX) COMPOSED.clear()
    type = composedType(oid, typmod)
    COMPOSED.set(key, type)
  }
  return type
}

function composedType(oid: number, typmod: number): PgType | null {
  if (oid === 1700) return numericType(typmod)
  const elementOid = ARRAYS[oid]
  if (elementOid === undefined) return null
  // An array's typmod is its element's.
  const element = elementOid === 1700 ? numericType(typmod) : SCALARS[elementOid]!
  return { desc: { id: 'list', child: element.desc }, decode: listDecode(element.decode) }
}
