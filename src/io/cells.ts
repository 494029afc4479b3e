/**
 * Reads the cells of record batches for the text formats (CSV, NDJSON), a slice of rows at a
 * time, as the values SQLite holds: null, bigint (INTEGER, whatever the result's intMode: text
 * has no precision limit), number (REAL), string (TEXT) or Uint8Array (BLOB). A server
 * database's typed columns (PostgreSQL) add booleans, and values read as text (decimals exactly,
 * dates and timestamps in ISO 8601 with their microseconds, ±infinity as PostgreSQL writes it,
 * times as `HH:MM:SS.ffffff`) or as JSON (intervals as `pg` shows them, arrays).
 */
import { type DataType, type RecordBatch, Type, type Vector } from 'apache-arrow'
import { decimalText } from '../arrow/bindable.js'
import { intervalValue, timeText } from '../arrow/typed-rows.js'

/** A structured value (an interval, an array): written as JSON. */
export interface JsonCell {
  json: unknown
}

/** One value as the text writers see it. */
export type Cell = null | bigint | number | string | boolean | Uint8Array | JsonCell

/**
 * How BLOBs become text in CSV and NDJSON: base64 (RFC 4648, with padding) or lowercase hex.
 *
 * @example
 * ```ts
 * await result.writeCSV('out.csv', { blobs: 'hex' }) // x'00ff' is written 00ff
 * ```
 */
export type BlobEncoding = 'base64' | 'hex'

/** Rows a text writer encodes into one chunk. */
export const ROWS_PER_CHUNK = 2048

export function checkBlobEncoding(value: unknown): BlobEncoding {
  if (value === undefined) return 'base64'
  if (value !== 'base64' && value !== 'hex') {
    throw new RangeError(`option "blobs" must be 'base64' or 'hex', got ${JSON.stringify(value)}`)
  }
  return value
}

export function blobText(bytes: Uint8Array, encoding: BlobEncoding): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding)
}

/**
 * A value as JSON text: integers exactly (a bigint as its digits), non-finite numbers as strings
 * ("NaN", "Infinity"), bytes as blob text, arrays and objects member by member.
 */
export function jsonText(value: unknown, blobs: BlobEncoding): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : `"${value}"`
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value)
  if (value instanceof Uint8Array) return `"${blobText(value, blobs)}"`
  if (Array.isArray(value)) return `[${value.map((item) => jsonText(item, blobs)).join(',')}]`
  const members = Object.entries(value as Record<string, unknown>)
  return `{${members.map(([key, item]) => `${JSON.stringify(key)}:${jsonText(item, blobs)}`).join(',')}}`
}

/**
 * Calls `row(cells)` for rows [from, to) of `batch`; `cells` is reused between rows. Union
 * (mixed-type) columns give each row's own value.
 */
export function forEachRow(batch: RecordBatch, from: number, to: number, row: (cells: Cell[]) => void): void {
  const columns = batch.schema.fields.map((_, c) => batch.getChildAt(c)!)
  const readers = columns.map((column) => cellReader(column.type))
  const cells: Cell[] = new Array(columns.length).fill(null)
  for (let i = from; i < to; i++) {
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!
      cells[c] = column.isValid(i) ? readers[c]!(column, i) : null
    }
    row(cells)
  }
}

type CellReader = (vector: Vector, i: number) => Cell

const INT64_MAX = 0x7fffffffffffffffn
const INT64_MIN = -0x8000000000000000n
const INT32_MAX = 0x7fffffff
const INT32_MIN = -0x80000000

/** The raw value `i` of a fixed-width vector (apache-arrow's `get` converts some, or throws). */
function raw<T>(vector: Vector, i: number, stride = 1): { values: ArrayLike<T>; at: number } {
  const data = vector.data[0]!
  return { values: data.values as unknown as ArrayLike<T>, at: (data.offset + i) * stride }
}

/** µs since the epoch in ISO 8601 with all six fractional digits ('Z' when `utc`). */
function isoMicros(us: bigint, utc: boolean): string {
  if (us === INT64_MAX) return 'infinity'
  if (us === INT64_MIN) return '-infinity'
  const seconds = us / 1_000_000n - (us % 1_000_000n < 0n ? 1n : 0n)
  const fraction = String(us - seconds * 1_000_000n).padStart(6, '0')
  const iso = new Date(Number(seconds) * 1000).toISOString()
  return `${iso.slice(0, iso.length - 5)}.${fraction}${utc ? 'Z' : ''}`
}

function cellReader(type: DataType): CellReader {
  switch (type.typeId) {
    case Type.Decimal: {
      const scale = (type as DataType & { scale: number }).scale
      return (vector, i) => decimalText(vector.get(i), scale)
    }
    case Type.Timestamp: {
      const utc = Boolean((type as DataType & { timezone?: string | null }).timezone)
      return (vector, i) => {
        const { values, at } = raw<bigint>(vector, i)
        return isoMicros(values[at]!, utc)
      }
    }
    case Type.Date: {
      return (vector, i) => {
        const { values, at } = raw<number>(vector, i)
        const days = values[at]!
        if (days === INT32_MAX) return 'infinity'
        if (days === INT32_MIN) return '-infinity'
        return new Date(days * 86_400_000).toISOString().slice(0, 10)
      }
    }
    case Type.Time:
      return (vector, i) => {
        const { values, at } = raw<bigint>(vector, i)
        return timeText(BigInt(values[at]!))
      }
    case Type.Interval:
      return (vector, i) => {
        const { values, at } = raw<number>(vector, i, 4)
        const words = values as Int32Array
        const ns = new BigInt64Array(words.buffer, words.byteOffset + (at + 2) * 4, 1)[0]!
        return { json: intervalValue(words[at]!, words[at + 1]!, ns) }
      }
    case Type.List: {
      const element = cellReader((type as DataType & { children: { type: DataType }[] }).children[0]!.type)
      return (vector, i) => {
        const items = vector.get(i) as Vector
        const out: unknown[] = []
        for (let j = 0; j < items.length; j++) {
          const cell = items.isValid(j) ? element(items, j) : null
          out.push(cell !== null && typeof cell === 'object' && 'json' in cell ? cell.json : cell)
        }
        return { json: out }
      }
    }
    default:
      return (vector, i) => (vector.get(i) ?? null) as Cell
  }
}
