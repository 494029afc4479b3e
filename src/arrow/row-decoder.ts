/**
 * Turns a batch into JavaScript rows shaped exactly like better-sqlite3's: objects keyed by
 * column name (or arrays), integers as numbers or bigints, text as strings, blobs as Buffers.
 *
 * It reads the batch's typed arrays directly rather than through Arrow vectors: a column at a
 * time into a plain array, then rows from the columns, in slices so the caller can yield to the
 * event loop between them.
 */
import { type BatchMessage, ColumnKind, type ColumnLayout } from '../thread/protocol.js'
import { typedGetter } from './typed-rows.js'

/**
 * How INTEGER values come back in rows: `'number'` (a value beyond ±(2^53−1) rejects with a
 * RangeError naming the column) or `'bigint'` (every integer a bigint).
 *
 * @example
 * ```ts
 * const engine = createEngine('sqlite:///app.db', { intMode: 'bigint' })
 * ```
 */
export type IntMode = 'number' | 'bigint'
/**
 * How rows come back: `'object'` (keyed by column name, as better-sqlite3's `.all()`) or
 * `'array'` (values in column order).
 *
 * @example
 * ```ts
 * const rows = await (await engine.execute('SELECT id, name FROM users', [], { rowMode: 'array' })).fetchall()
 * ```
 */
export type RowMode = 'object' | 'array'
/**
 * One row: an object keyed by column name, or an array in `rowMode: 'array'`.
 *
 * @example
 * ```ts
 * const row: Row | null = await (await engine.execute('SELECT 1 AS one')).fetchone()
 * ```
 */
export type Row = Record<string, unknown> | unknown[]

const TWO_TO_32 = 4294967296

function unsafeInteger(column: string, hi: number, lo: number): RangeError {
  const value = (BigInt(hi) << 32n) | BigInt(lo >>> 0)
  return new RangeError(
    `column "${column}" holds the integer ${value}, beyond Number.MAX_SAFE_INTEGER: use intMode: 'bigint'`,
  )
}

/**
 * Bytes [start, end) of a text column's values decoded in one call, when that is equivalent to
 * decoding each value alone; null otherwise. Equivalent when the decoded string is exactly as
 * long as its bytes: then no multi-byte sequence was decoded anywhere (each would shorten it), so
 * every byte stands for one character and byte offsets are character offsets. Substrings of one
 * decoded string cost far less than one native decode per value. One string per slice of rows,
 * not per batch: a whole batch's column (over 128 KB at 65k rows) is a large object, which only a
 * full collection frees, so a stream of rows grew the heap by one such string per batch until one
 * ran (RSS swung by 20 MB); a slice's string is young and dies young.
 */
function decodedAtOnce(bytes: Buffer, start: number, end: number): string | null {
  const text = bytes.toString('utf8', start, end)
  return text.length === end - start ? text : null
}

/** Decodes rows [from, to) of one column into `out[0 .. to-from)`. */
function decodeColumn(
  buffer: SharedArrayBuffer,
  bytes: Buffer,
  layout: ColumnLayout,
  from: number,
  to: number,
  intMode: IntMode,
  name: string,
  out: unknown[],
): void {
  const validity = layout.validity < 0 ? null : new Uint8Array(buffer, layout.validity)
  const isNull = (i: number): boolean => validity !== null && (validity[i >> 3]! & (1 << (i & 7))) === 0
  switch (layout.kind) {
    case ColumnKind.Null:
      for (let i = from; i < to; i++) out[i - from] = null
      return
    case ColumnKind.Int:
      if (intMode === 'bigint') {
        const values = new BigInt64Array(buffer, layout.values, layout.length)
        for (let i = from; i < to; i++) out[i - from] = isNull(i) ? null : values[i]
        return
      } else {
        // Read each int64 as two int32 halves: no BigInt allocated, and the range check is two
        // comparisons. Safe integers have |v| < 2^53, i.e. hi in [-2^21, 2^21) except -2^53.
        const words = new Int32Array(buffer, layout.values, layout.length * 2)
        for (let i = from; i < to; i++) {
          if (isNull(i)) {
            out[i - from] = null
            continue
          }
          const lo = words[2 * i]!
          const hi = words[2 * i + 1]!
          if (hi < -0x200000 || hi >= 0x200000 || (hi === -0x200000 && lo === 0)) {
            throw unsafeInteger(name, hi, lo)
          }
          out[i - from] = hi * TWO_TO_32 + (lo >>> 0)
        }
        return
      }
    case ColumnKind.Float: {
      const values = new Float64Array(buffer, layout.values, layout.length)
      for (let i = from; i < to; i++) out[i - from] = isNull(i) ? null : values[i]
      return
    }
    case ColumnKind.Text:
    case ColumnKind.Blob: {
      const offsets = new Int32Array(buffer, layout.offsets, layout.length + 1)
      const base = Math.max(layout.values, 0)
      const text = layout.kind === ColumnKind.Text
      const first = offsets[from]!
      const whole = text && to - from > 1 ? decodedAtOnce(bytes, base + first, base + offsets[to]!) : null
      if (whole !== null) {
        for (let i = from; i < to; i++)
          out[i - from] = isNull(i) ? null : whole.substring(offsets[i]! - first, offsets[i + 1]! - first)
        return
      }
      for (let i = from; i < to; i++) {
        if (isNull(i)) {
          out[i - from] = null
          continue
        }
        const start = base + offsets[i]!
        const end = base + offsets[i + 1]!
        // Blobs are copied: a Buffer the user may write to must not alias the shared batch.
        out[i - from] = text ? bytes.toString('utf8', start, end) : Buffer.from(bytes.subarray(start, end))
      }
      return
    }
    case ColumnKind.Mixed: {
      const typeIds = new Int8Array(buffer, layout.typeIds, layout.length)
      const offsets = new Int32Array(buffer, layout.offsets, layout.length)
      const children = layout.children ?? []
      const one: unknown[] = [null]
      for (let i = from; i < to; i++) {
        const child = children[typeIds[i]!]!
        const at = offsets[i]!
        decodeColumn(buffer, bytes, child, at, at + 1, intMode, name, one)
        out[i - from] = one[0]
      }
      return
    }
    case ColumnKind.Arrow: {
      const get = typedGetter(buffer, bytes, layout, intMode, name)
      for (let i = from; i < to; i++) out[i - from] = get(i)
      return
    }
  }
}

type RowBuilder = (columns: unknown[][], i: number) => Row

const builders = new Map<string, RowBuilder>()

/**
 * A function building one row object from column arrays. Generated once per column list so V8
 * sees object literals of one shape (string-literal keys, which V8 builds from one boilerplate);
 * keys are JSON-quoted, so no name can inject code.
 *
 * A column named `__proto__` is set as each client library sets it. better-sqlite3 assigns every
 * value, so (SQLite) it sets the row's prototype when its value is an object, and is no own
 * property; here it is assigned after the literal, where a `"__proto__"` key would do the same but
 * may appear only once. `pg` defines it as an own property (`ownProto`, typed columns): a computed
 * key does that.
 */
function objectRowBuilder(names: readonly string[], ownProto: boolean): RowBuilder {
  const key = JSON.stringify([ownProto, names])
  let builder = builders.get(key)
  if (!builder) {
    // Later duplicates overwrite earlier ones, as in both libraries.
    const assigned = (name: string): boolean => name === '__proto__' && !ownProto
    const fields = names.flatMap((name, c) => {
      if (assigned(name)) return []
      const quoted = JSON.stringify(name)
      return [`${name === '__proto__' ? `[${quoted}]` : quoted}: c[${c}][i]`]
    })
    const protos = names.flatMap((name, c) => (assigned(name) ? [`row.__proto__ = c[${c}][i]`] : []))
    const body =
      protos.length === 0
        ? `return { ${fields.join(', ')} }`
        : `const row = { ${fields.join(', ')} }; ${protos.join('; ')}; return row`
    builder = new Function('c', 'i', body) as RowBuilder
    if (builders.size > 1000) builders.clear()
    builders.set(key, builder)
  }
  return builder
}

/** Decodes one batch into rows, a slice at a time. */
export class RowDecoder {
  readonly #batch: BatchMessage
  readonly #bytes: Buffer
  readonly #names: readonly string[]
  readonly #intMode: IntMode
  readonly #rowMode: RowMode
  /** Whether the batch has typed columns: a server database's (PostgreSQL), whose rows follow `pg`. */
  readonly #typed: boolean

  constructor(batch: BatchMessage, names: readonly string[], intMode: IntMode, rowMode: RowMode) {
    this.#batch = batch
    this.#bytes = Buffer.from(batch.buffer)
    this.#names = names
    this.#intMode = intMode
    this.#rowMode = rowMode
    this.#typed = batch.columns.some((layout) => layout.kind === ColumnKind.Arrow)
  }

  get numRows(): number {
    return this.#batch.numRows
  }

  /** Values of column `c` in rows [from, to) of the batch. */
  column(c: number, from: number, to: number): unknown[] {
    const values = new Array<unknown>(to - from)
    decodeColumn(
      this.#batch.buffer,
      this.#bytes,
      this.#batch.columns[c]!,
      from,
      to,
      this.#intMode,
      this.#names[c] ?? `column${c}`,
      values,
    )
    return values
  }

  /** Rows [from, to) of the batch. */
  rows(from: number, to: number): Row[] {
    const count = to - from
    const columns = this.#batch.columns.map((_, c) => this.column(c, from, to))
    const rows = new Array<Row>(count)
    if (this.#rowMode === 'array') {
      for (let i = 0; i < count; i++) rows[i] = columns.map((column) => column[i])
    } else {
      const build = objectRowBuilder(this.#names, this.#typed)
      for (let i = 0; i < count; i++) rows[i] = build(columns, i)
    }
    return rows
  }
}
