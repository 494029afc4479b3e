/**
 * JavaScript values of typed columns (`ColumnKind.Arrow`), shaped as node-postgres (`pg`) shows
 * them with its default type parsers, so that a PostgreSQL row from sqlaio equals `pg`'s:
 * numeric as a string, json parsed, date and timestamps as Date objects (timestamp without time
 * zone and date read as local time), ±infinity as ±Infinity, time as its text, interval as an
 * object of its non-zero parts. Two deliberate differences: int8 follows `intMode` (a number,
 * RangeError beyond ±2^53, or a bigint; `pg` gives a string), and float4 is the shortest decimal
 * that round-trips through float32 (what the server prints, so `pg` parses the same number:
 * float32-shortest.ts).
 */
import type { ColumnLayout } from '../thread/protocol.js'
import { float32Shortest } from './float32-shortest.js'

type Getter = (i: number) => unknown
const TWO_TO_32 = 4294967296
const INT64_MAX = 0x7fffffffffffffffn
const INT64_MIN = -0x8000000000000000n

function float32(value: number): number {
  return !Number.isFinite(value) || value === 0 ? value : float32Shortest(value)
}

function decimalText(words: Uint32Array, i: number, scale: number): string {
  let v = 0n
  for (let w = 3; w >= 0; w--) v = (v << 32n) | BigInt(words[i * 4 + w]!)
  v = BigInt.asIntN(128, v)
  const negative = v < 0n
  let digits = (negative ? -v : v).toString()
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0')
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`
  }
  return negative ? `-${digits}` : digits
}

/** Milliseconds since the epoch, µs truncated toward earlier time (as a parsed text would be). */
function timestampValue(us: bigint, local: boolean): Date | number {
  if (us === INT64_MAX) return Number.POSITIVE_INFINITY
  if (us === INT64_MIN) return Number.NEGATIVE_INFINITY
  const ms = Number(us / 1000n) - (us % 1000n < 0n ? 1 : 0)
  if (!local) return new Date(ms)
  const utc = new Date(ms)
  const date = new Date(
    utc.getUTCFullYear(),
    utc.getUTCMonth(),
    utc.getUTCDate(),
    utc.getUTCHours(),
    utc.getUTCMinutes(),
    utc.getUTCSeconds(),
    utc.getUTCMilliseconds(),
  )
  // Years 0-99 would be read as 1900-1999 by the constructor. A local time past the range of
  // Date stays an Invalid Date, as `pg` gives it (setFullYear would make it January 1st).
  if (!Number.isNaN(date.getTime())) date.setFullYear(utc.getUTCFullYear())
  return date
}

/** A time of day in µs as PostgreSQL prints it, `HH:MM:SS[.ffffff]`. */
export function timeText(us: bigint): string {
  const total = Number(us)
  const seconds = Math.floor(total / 1e6)
  const fraction = total % 1e6
  const pad = (n: number): string => String(n).padStart(2, '0')
  const text = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`
  return fraction === 0 ? text : `${text}.${String(fraction).padStart(6, '0').replace(/0+$/, '')}`
}

/** An interval as `pg` shows it: an object of its non-zero parts. */
export function intervalValue(months: number, days: number, ns: bigint): Record<string, number> {
  const out: Record<string, number> = {}
  const years = Math.trunc(months / 12)
  if (years) out.years = years
  if (months % 12) out.months = months % 12
  if (days) out.days = days
  // In BigInt until the parts are split: a time part beyond 2^53 µs (2.5M hours) is exact too.
  const us = ns / 1000n
  const sign = us < 0n ? -1 : 1
  const abs = us < 0n ? -us : us
  const hours = Number(abs / 3_600_000_000n)
  const minutes = Number((abs / 60_000_000n) % 60n)
  const seconds = Number((abs / 1_000_000n) % 60n)
  const milliseconds = Number(abs % 1_000_000n) / 1000
  if (hours) out.hours = sign * hours
  if (minutes) out.minutes = sign * minutes
  if (seconds) out.seconds = sign * seconds
  if (milliseconds) out.milliseconds = sign * milliseconds
  return out
}

/** A function giving the value of row `i` of a typed column (null for NULL). */
export function typedGetter(
  buffer: SharedArrayBuffer,
  bytes: Buffer,
  layout: ColumnLayout,
  intMode: 'number' | 'bigint',
  name: string,
): Getter {
  const desc = layout.type!
  const n = layout.length
  const validity = layout.validity < 0 ? null : new Uint8Array(buffer, layout.validity)
  const values = Math.max(layout.values, 0)
  const valueAt = ((): Getter => {
    switch (desc.id) {
      case 'bool': {
        const bits = new Uint8Array(buffer, values, layout.valuesBytes)
        return (i) => (bits[i >> 3]! & (1 << (i & 7))) !== 0
      }
      case 'uint32': {
        const a = new Uint32Array(buffer, values, n)
        return (i) => a[i]
      }
      case 'int': {
        if (desc.bits === 16) {
          const a = new Int16Array(buffer, values, n)
          return (i) => a[i]
        }
        if (desc.bits === 32) {
          const a = new Int32Array(buffer, values, n)
          return (i) => a[i]
        }
        if (intMode === 'bigint') {
          const a = new BigInt64Array(buffer, values, n)
          return (i) => a[i]
        }
        const words = new Int32Array(buffer, values, n * 2)
        return (i) => {
          const lo = words[2 * i]!
          const hi = words[2 * i + 1]!
          if (hi < -0x200000 || hi >= 0x200000 || (hi === -0x200000 && lo === 0)) {
            const value = (BigInt(hi) << 32n) | BigInt(lo >>> 0)
            throw new RangeError(
              `column "${name}" holds the integer ${value}, beyond Number.MAX_SAFE_INTEGER: use intMode: 'bigint'`,
            )
          }
          return hi * TWO_TO_32 + (lo >>> 0)
        }
      }
      case 'float': {
        if (desc.bits === 64) {
          const a = new Float64Array(buffer, values, n)
          return (i) => a[i]
        }
        const a = new Float32Array(buffer, values, n)
        return (i) => float32(a[i]!)
      }
      case 'decimal': {
        const words = new Uint32Array(buffer, values, n * 4)
        return (i) => decimalText(words, i, desc.scale)
      }
      case 'utf8':
      case 'binary': {
        const offsets = new Int32Array(buffer, layout.offsets, n + 1)
        if (desc.id === 'binary') {
          // Copied: a Buffer the user may write to must not alias the shared batch.
          return (i) => Buffer.from(bytes.subarray(values + offsets[i]!, values + offsets[i + 1]!))
        }
        const text = (i: number): string =>
          bytes.toString('utf8', values + offsets[i]!, values + offsets[i + 1]!)
        return desc.hint === 'json' ? (i) => JSON.parse(text(i)) : text
      }
      case 'date32': {
        const a = new Int32Array(buffer, values, n)
        return (i) => {
          const days = a[i]!
          if (days === 0x7fffffff) return Number.POSITIVE_INFINITY
          if (days === -0x80000000) return Number.NEGATIVE_INFINITY
          return timestampValue(BigInt(days) * 86400000000n, true)
        }
      }
      case 'timestamp': {
        const a = new BigInt64Array(buffer, values, n)
        const local = desc.tz === null
        return (i) => timestampValue(a[i]!, local)
      }
      case 'time64': {
        const a = new BigInt64Array(buffer, values, n)
        return (i) => timeText(a[i]!)
      }
      case 'interval': {
        const words = new Int32Array(buffer, values, n * 4)
        const nanos = new BigInt64Array(buffer, values, n * 2)
        return (i) => intervalValue(words[4 * i]!, words[4 * i + 1]!, nanos[2 * i + 1]!)
      }
      case 'list': {
        const offsets = new Int32Array(buffer, layout.offsets, n + 1)
        const child = typedGetter(buffer, bytes, layout.children![0]!, intMode, name)
        return (i) => {
          const out: unknown[] = []
          for (let j = offsets[i]!; j < offsets[i + 1]!; j++) out.push(child(j))
          return out
        }
      }
    }
  })()
  if (!validity) return valueAt
  return (i) => ((validity[i >> 3]! & (1 << (i & 7))) === 0 ? null : valueAt(i))
}
