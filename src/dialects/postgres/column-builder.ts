/**
 * One column of a batch under construction in the worker: growable buffers laid out as Arrow
 * wants them (little-endian values, Int32 offsets, validity bits), copied into the batch's
 * SharedArrayBuffer when the batch is finished. Values are appended by the type decoders of
 * `types.ts`; a List column owns a child builder for its elements.
 */

import { align8 } from '../../arrow/align.js'
import { type ArrowTypeDesc, ColumnKind, type ColumnLayout } from '../../thread/protocol.js'

/** Bytes per value of a fixed-width type; 0 for variable-width ones, -1 for bit-packed bool. */
export function fixedWidth(desc: ArrowTypeDesc): number {
  switch (desc.id) {
    case 'bool':
      return -1
    case 'int':
    case 'float':
      return desc.bits / 8
    case 'date32':
    case 'uint32':
      return 4
    case 'timestamp':
    case 'time64':
      return 8
    case 'interval':
    case 'decimal':
      return 16
    default:
      return 0
  }
}

/**
 * Longest value `append` copies byte by byte. Most text and bytea values are short, and for them
 * a loop costs less than the view `set` needs (a subarray object per value: a million of them
 * per million rows, all garbage at once).
 */
const BYTE_LOOP_MAX = 64

export class ColumnBuilder {
  readonly desc: ArrowTypeDesc
  readonly width: number
  readonly child: ColumnBuilder | null
  length = 0
  nullCount = 0
  #validity = new Uint8Array(128)
  /** Fixed-width values, bool bits, or the bytes of utf8/binary values. */
  data = new Uint8Array(1024)
  view = new DataView(this.data.buffer)
  /** Bytes used in `data` (utf8/binary) . */
  bytes = 0
  /** Int32 offsets of utf8/binary/list values; offsets[0] is 0. */
  #offsets = new Int32Array(129)

  constructor(desc: ArrowTypeDesc) {
    this.desc = desc
    this.width = fixedWidth(desc)
    this.child = desc.id === 'list' ? new ColumnBuilder(desc.child) : null
  }

  #grow(bytes: number): void {
    if (bytes <= this.data.length) return
    let size = this.data.length * 2
    while (size < bytes) size *= 2
    const data = new Uint8Array(size)
    data.set(
      this.data.subarray(
        0,
        this.width > 0 ? this.length * this.width : this.width < 0 ? (this.length + 7) >> 3 : this.bytes,
      ),
    )
    this.data = data
    this.view = new DataView(data.buffer)
  }

  /** Starts a row: grows validity and offsets, marks it valid or null. */
  #row(valid: boolean): void {
    const i = this.length
    if (i >> 3 >= this.#validity.length) {
      const validity = new Uint8Array(this.#validity.length * 2)
      validity.set(this.#validity)
      this.#validity = validity
    }
    if (valid) this.#validity[i >> 3]! |= 1 << (i & 7)
    else this.nullCount++
    if (this.width <= 0 && i + 2 > this.#offsets.length) {
      const offsets = new Int32Array(this.#offsets.length * 2)
      offsets.set(this.#offsets)
      this.#offsets = offsets
    }
  }

  /** Appends a fixed-width value slot and returns its byte offset in `data` (to write into). */
  fixed(): number {
    this.#row(true)
    const at = this.length * this.width
    this.#grow(at + this.width)
    this.length++
    return at
  }

  /** Appends a boolean. */
  bool(value: boolean): void {
    this.#row(true)
    this.#grow((this.length >> 3) + 1)
    if (value) this.data[this.length >> 3]! |= 1 << (this.length & 7)
    this.length++
  }

  /** Appends a utf8/binary value copied from `source[start, end)`. */
  append(source: Uint8Array, start: number, end: number): void {
    this.#row(true)
    const n = end - start
    this.#grow(this.bytes + n)
    if (n <= BYTE_LOOP_MAX) {
      const data = this.data
      for (let i = start, at = this.bytes; i < end; i++, at++) data[at] = source[i]!
    } else {
      this.data.set(source.subarray(start, end), this.bytes)
    }
    this.bytes += n
    this.length++
    this.#offsets[this.length] = this.bytes
  }

  /** Appends a utf8 value from a string. */
  appendString(text: string): void {
    this.#row(true)
    this.#grow(this.bytes + text.length * 3)
    this.bytes += Buffer.from(this.data.buffer, this.data.byteOffset).write(text, this.bytes)
    this.length++
    this.#offsets[this.length] = this.bytes
  }

  /** Closes a list value whose elements were appended to `child`. */
  endList(): void {
    this.#row(true)
    this.length++
    this.#offsets[this.length] = this.child!.length
  }

  appendNull(): void {
    this.#row(false)
    if (this.width > 0) this.#grow((this.length + 1) * this.width)
    else if (this.width < 0) this.#grow((this.length >> 3) + 1)
    this.length++
    if (this.width === 0)
      this.#offsets[this.length] = this.desc.id === 'list' ? this.child!.length : this.bytes
  }

  /** Bytes this column needs in a batch buffer (every section 8-aligned). */
  size(): number {
    const n = this.length
    let size = this.nullCount > 0 ? align8((n + 7) >> 3) : 0
    if (this.width > 0) size += align8(n * this.width)
    else if (this.width < 0) size += align8((n + 7) >> 3)
    else size += align8((n + 1) * 4) + (this.child ? this.child.size() : align8(this.bytes))
    return size
  }

  /** Copies the column into `target` from byte `at`; returns its layout and where it ended. */
  write(target: Uint8Array, at: number): { layout: ColumnLayout; end: number } {
    const n = this.length
    let validity = -1
    if (this.nullCount > 0) {
      validity = at
      target.set(this.#validity.subarray(0, (n + 7) >> 3), at)
      at += align8((n + 7) >> 3)
    }
    let offsets = -1
    let values = -1
    let valuesBytes = 0
    let children: ColumnLayout[] | null = null
    if (this.width !== 0) {
      valuesBytes = this.width > 0 ? n * this.width : (n + 7) >> 3
      values = at
      target.set(this.data.subarray(0, valuesBytes), at)
      at += align8(valuesBytes)
    } else {
      offsets = at
      target.set(new Uint8Array(this.#offsets.buffer, 0, (n + 1) * 4), at)
      at += align8((n + 1) * 4)
      if (this.child) {
        const written = this.child.write(target, at)
        children = [written.layout]
        at = written.end
      } else {
        values = at
        valuesBytes = this.bytes
        target.set(this.data.subarray(0, this.bytes), at)
        at += align8(this.bytes)
      }
    }
    const layout: ColumnLayout = {
      kind: ColumnKind.Arrow,
      type: this.desc,
      length: n,
      nullCount: this.nullCount,
      validity,
      offsets,
      values,
      valuesBytes,
      typeIds: -1,
      children,
    }
    return { layout, end: at }
  }

  /** Bytes of the buffers this builder holds (its child's included). */
  get capacity(): number {
    return (
      this.#validity.byteLength +
      this.data.byteLength +
      this.#offsets.byteLength +
      (this.child?.capacity ?? 0)
    )
  }

  /** Empties the builder for the next batch, keeping its buffers. */
  reset(): void {
    this.#validity.fill(0, 0, (this.length + 7) >> 3)
    if (this.width < 0) this.data.fill(0, 0, (this.length + 7) >> 3)
    this.length = 0
    this.nullCount = 0
    this.bytes = 0
    this.child?.reset()
  }
}
