/**
 * Arrow data as SQLite parameters ("Arrow in"): which Arrow types can be bound, and how one value
 * of each becomes a bound value. Used on the main thread to refuse a table whose columns cannot be
 * bound (before anything is sent) and in the worker to bind each row.
 *
 * | Arrow type                              | bound as                                              |
 * | --------------------------------------- | ----------------------------------------------------- |
 * | Int8–Int32, Uint8–Uint32, Float*         | number                                                |
 * | Int64, Uint64                           | bigint (exact)                                        |
 * | Bool                                    | 1 / 0                                                 |
 * | Utf8, LargeUtf8                         | TEXT                                                  |
 * | Binary, LargeBinary, FixedSizeBinary    | BLOB (bound from the Arrow buffer, not copied)        |
 * | Date (day or millisecond)               | TEXT `YYYY-MM-DD` (day) or ISO-8601 (millisecond)     |
 * | Timestamp (any unit)                    | TEXT ISO-8601 in UTC, millisecond precision            |
 * | Decimal                                 | TEXT of the exact decimal                             |
 * | Null                                    | NULL                                                  |
 * | Dictionary                              | its value, by the rules above                          |
 * | Dense/Sparse Union (sqlaio's own mixed columns) | each value by its own JavaScript type           |
 *
 * Anything else (List, Struct, Map, Time, Interval, Duration) has no SQLite equivalent: refused
 * with a TypeError naming the column.
 */
import { type DataType, type Field, type Schema, DataType as Types } from 'apache-arrow'
import type { BoundValue } from '../thread/protocol.js'

/** Converts one non-null value read with `Vector.get` into a bound value. */
export type ValueBinder = (value: unknown) => BoundValue

const identity: ValueBinder = (value) => value as BoundValue

/** A union child value, bound by its JavaScript type. */
function dynamic(value: unknown): BoundValue {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value === undefined) return null
  return value as BoundValue
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

function isoTimestamp(ms: number): string {
  return new Date(ms).toISOString()
}

/** The binder of `type`, or null when it has no SQLite equivalent. */
export function binderOf(type: DataType): ValueBinder | null {
  if (Types.isNull(type)) return () => null
  if (Types.isInt(type) || Types.isFloat(type)) return identity
  if (Types.isBool(type)) return (value) => (value ? 1 : 0)
  if (Types.isUtf8(type) || Types.isLargeUtf8(type)) return identity
  if (Types.isBinary(type) || Types.isLargeBinary(type) || Types.isFixedSizeBinary(type)) return identity
  if (Types.isDate(type)) {
    // apache-arrow reads both units as milliseconds since the epoch.
    return type.unit === 0 ? (value) => isoDate(Number(value)) : (value) => isoTimestamp(Number(value))
  }
  if (Types.isTimestamp(type)) return (value) => isoTimestamp(Number(value))
  if (Types.isDecimal(type)) return (value) => decimalText(value, type.scale)
  if (Types.isDictionary(type)) return binderOf(type.dictionary)
  if (Types.isUnion(type)) return dynamic
  return null
}

/** The exact text of a decimal apache-arrow read as its unscaled integer words. */
export function decimalText(value: unknown, scale: number): string {
  const unscaled = BigInt(String(value))
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString()
  const negative = unscaled < 0n
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0')
  const text = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`
  return negative ? `-${text}` : text
}

/** Throws a TypeError naming the first field of `schema` that cannot be bound. */
export function checkBindable(schema: Schema, where: string): void {
  for (const field of schema.fields as Field[]) {
    if (!binderOf(field.type)) {
      throw new TypeError(
        `${where}: column "${field.name}" has Arrow type ${String(field.type)}, which has no SQLite equivalent`,
      )
    }
  }
}
