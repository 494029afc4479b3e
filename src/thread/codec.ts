/**
 * Requests and replies as bytes, for the shared-memory rings (ring-transport.ts). Only the common
 * messages have an encoding: a statement and its parameters, the stream controls, and the small
 * replies (a row count, a scalar, a first batch of a few rows). Everything else, and anything
 * that does not fit, returns false from the encoder and goes through the MessagePort, which
 * keeps the order (every message carries a sequence number, whichever way it travels).
 *
 * SQL text crosses once per statement: the main thread gives each text a slot in a small table
 * and sends "define slot N as <text>" the first time, "slot N" afterwards; the worker keeps the
 * table in the same order, since records are read in the order they were sent.
 */
import type {
  ArrowTypeDesc,
  BatchMessage,
  BoundParams,
  BoundValue,
  ColumnLayout,
  Reply,
  Request,
} from './protocol.js'

/** Thrown by `Encoder` when a message does not fit its scratch buffer. */
export const OVERFLOW = new Error('record overflow')

// ignoreBOM: a leading U+FEFF is part of the value (a default TextDecoder would drop it).
const fromUtf8 = new TextDecoder('utf-8', { ignoreBOM: true })

/** Appends values to a private scratch buffer (copied into the ring in one piece). */
export class Encoder {
  readonly bytes: Buffer
  readonly #view: DataView
  at = 0

  constructor(capacity: number) {
    this.bytes = Buffer.alloc(capacity)
    this.#view = new DataView(this.bytes.buffer)
  }

  #room(n: number): number {
    const at = this.at
    if (at + n > this.bytes.length) throw OVERFLOW
    this.at = at + n
    return at
  }

  u8(value: number): void {
    this.bytes[this.#room(1)] = value
  }

  u32(value: number): void {
    this.#view.setUint32(this.#room(4), value, true)
  }

  i32(value: number): void {
    this.#view.setInt32(this.#room(4), value, true)
  }

  f64(value: number): void {
    this.#view.setFloat64(this.#room(8), value, true)
  }

  i64(value: bigint): void {
    this.#view.setBigInt64(this.#room(8), value, true)
  }

  str(value: string): void {
    const lengthAt = this.#room(4)
    const bytes = this.bytes
    // UTF-8 takes at most 3 bytes per UTF-16 unit: only a string that may not fit is measured.
    if (this.at + value.length * 3 > bytes.length && this.at + Buffer.byteLength(value) > bytes.length) {
      throw OVERFLOW
    }
    const written = bytes.write(value, this.at)
    this.#view.setUint32(lengthAt, written, true)
    this.at += written
  }

  raw(value: Uint8Array): void {
    this.u32(value.byteLength)
    this.bytes.set(value, this.#room(value.byteLength))
  }
}

/** Reads values from a record in a ring, in the order they were written. */
export class Decoder {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  at = 0

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  u8(): number {
    return this.#bytes[this.at++] as number
  }

  u32(): number {
    const value = this.#view.getUint32(this.at, true)
    this.at += 4
    return value
  }

  i32(): number {
    const value = this.#view.getInt32(this.at, true)
    this.at += 4
    return value
  }

  f64(): number {
    const value = this.#view.getFloat64(this.at, true)
    this.at += 8
    return value
  }

  i64(): bigint {
    const value = this.#view.getBigInt64(this.at, true)
    this.at += 8
    return value
  }

  str(): string {
    const length = this.u32()
    const at = this.at
    this.at += length
    return length === 0 ? '' : fromUtf8.decode(this.#bytes.subarray(at, at + length))
  }

  /** A copy of the next byte string, in memory of its own. */
  raw(): Uint8Array {
    const length = this.u32()
    const at = this.at
    this.at += length
    return this.#bytes.slice(at, at + length)
  }

  /** Copies `length` bytes into a new SharedArrayBuffer. */
  shared(length: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(length)
    new Uint8Array(buffer).set(this.#bytes.subarray(this.at, this.at + length))
    this.at += length
    return buffer
  }
}

enum Value {
  Null = 0,
  Number = 1,
  BigInt = 2,
  String = 3,
  Bytes = 4,
  /**
   * A string with an unpaired surrogate, as its UTF-16LE code units: UTF-8 cannot carry one
   * (it would arrive as U+FFFD), and better-sqlite3 binds it as it is (WTF-8).
   */
  Utf16 = 5,
}

const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n

/** Encodes a parameter (or an 'ok' value); false when it has no encoding here. */
function encodeValue(e: Encoder, value: unknown): boolean {
  if (value === null) e.u8(Value.Null)
  else if (typeof value === 'number') {
    e.u8(Value.Number)
    e.f64(value)
  } else if (typeof value === 'string') {
    if (value.isWellFormed()) {
      e.u8(Value.String)
      e.str(value)
    } else {
      e.u8(Value.Utf16)
      e.raw(Buffer.from(value, 'utf16le'))
    }
  } else if (typeof value === 'bigint') {
    // Out of int64 the worker's driver must see the value itself (to report its own error).
    if (value < I64_MIN || value > I64_MAX) return false
    e.u8(Value.BigInt)
    e.i64(value)
  } else if (value instanceof Uint8Array) {
    e.u8(Value.Bytes)
    e.raw(value)
  } else return false
  return true
}

function decodeValue(d: Decoder): BoundValue {
  switch (d.u8() as Value) {
    case Value.Null:
      return null
    case Value.Number:
      return d.f64()
    case Value.BigInt:
      return d.i64()
    case Value.String:
      return d.str()
    case Value.Bytes:
      return d.raw()
    case Value.Utf16: {
      const units = d.raw()
      return Buffer.from(units.buffer, units.byteOffset, units.byteLength).toString('utf16le')
    }
  }
}

/** Positional parameters: count << 1; named ones: count << 1 | 1, each value after its name. */
export function encodeParams(e: Encoder, params: BoundParams): boolean {
  if (Array.isArray(params)) {
    e.u32(params.length << 1)
    for (const value of params) if (!encodeValue(e, value)) return false
    return true
  }
  const names = Object.keys(params)
  e.u32((names.length << 1) | 1)
  for (const name of names) {
    e.str(name)
    if (!encodeValue(e, params[name])) return false
  }
  return true
}

export function decodeParams(d: Decoder): BoundParams {
  const header = d.u32()
  const count = header >>> 1
  if ((header & 1) === 0) {
    const list: BoundValue[] = new Array(count)
    for (let i = 0; i < count; i++) list[i] = decodeValue(d)
    return list
  }
  const named: Record<string, BoundValue> = {}
  for (let i = 0; i < count; i++) {
    const name = d.str()
    named[name] = decodeValue(d)
  }
  return named
}

enum Op {
  Execute = 1,
  Exec = 2,
  Reset = 3,
  Credit = 4,
  CloseResult = 5,
  Cancel = 6,
  Release = 7,
}

/** How many statement texts each side remembers. */
const SQL_SLOTS = 256
/** Longer texts are sent in full every time rather than kept. */
const SQL_SLOT_MAX_CHARS = 4096
/** The slot field when the text follows inline instead. */
const NO_SLOT = 0xffff
/** Set in the slot field when the text follows and defines the slot. */
const DEFINE = 0x10000

/**
 * The main thread's side of the SQL table: text → slot, least recently used first. A slot is
 * taken (or moved) only once the record that defines it is in the ring (`commit`), since a
 * record that falls back to the port defines nothing.
 */
export class RequestEncoder {
  readonly #slots = new Map<string, number>()
  /** The text `encode` chose to define, and the slot it gets; committed after the write. */
  #pendingSql: string | null = null
  #pendingSlot = 0
  #pendingEvict: string | null = null

  /** Encodes `request` into `e` (reset first); false when it must go through the port. */
  encode(e: Encoder, request: Request): boolean {
    e.at = 0
    this.#pendingSql = null
    try {
      switch (request.op) {
        case 'execute':
          e.u8(Op.Execute)
          e.f64(request.id)
          this.#sql(e, request.sql)
          e.u32(request.batchRows)
          e.u32(request.prefetchBatches)
          return encodeParams(e, request.params)
        case 'exec':
          e.u8(Op.Exec)
          e.f64(request.id)
          e.u32(NO_SLOT)
          e.str(request.sql)
          return true
        case 'reset':
          e.u8(Op.Reset)
          e.f64(request.id)
          return true
        case 'credit':
          e.u8(Op.Credit)
          e.f64(request.id)
          e.u32(request.batches)
          encodeLeases(e, request.release ?? [])
          return true
        case 'release':
          e.u8(Op.Release)
          e.f64(request.id)
          encodeLeases(e, request.leases)
          return true
        case 'closeResult':
          e.u8(Op.CloseResult)
          e.f64(request.id)
          return true
        case 'cancel':
          e.u8(Op.Cancel)
          e.f64(request.id)
          return true
        default:
          return false
      }
    } catch (error) {
      if (error === OVERFLOW) return false
      throw error
    }
  }

  #sql(e: Encoder, sql: string): void {
    const slot = this.#slots.get(sql)
    if (slot !== undefined) {
      e.u32(slot)
      // Most recently used last (Map order), so that eviction takes the oldest.
      this.#slots.delete(sql)
      this.#slots.set(sql, slot)
      return
    }
    if (sql.length > SQL_SLOT_MAX_CHARS) {
      e.u32(NO_SLOT)
    } else {
      let free = this.#slots.size
      this.#pendingEvict = null
      if (free === SQL_SLOTS) {
        const [oldest, oldestSlot] = this.#slots.entries().next().value as [string, number]
        this.#pendingEvict = oldest
        free = oldestSlot
      }
      this.#pendingSql = sql
      this.#pendingSlot = free
      e.u32(free | DEFINE)
    }
    e.str(sql)
  }

  /** The encoded record is in the ring: the worker will learn the slot it defined. */
  commit(): void {
    if (this.#pendingSql === null) return
    if (this.#pendingEvict !== null) this.#slots.delete(this.#pendingEvict)
    this.#slots.set(this.#pendingSql, this.#pendingSlot)
    this.#pendingSql = null
  }
}

/** Batch buffer leases given back to the worker (see `BatchMessage.lease`). */
function encodeLeases(e: Encoder, leases: readonly number[]): void {
  e.u32(leases.length)
  for (const lease of leases) e.f64(lease)
}

function decodeLeases(d: Decoder): number[] {
  const leases: number[] = new Array(d.u32())
  for (let i = 0; i < leases.length; i++) leases[i] = d.f64()
  return leases
}

/** The worker's side of the SQL table. */
export class RequestDecoder {
  readonly #texts: string[] = new Array(SQL_SLOTS).fill('')

  decode(d: Decoder): Request {
    const op = d.u8() as Op
    const id = d.f64()
    switch (op) {
      case Op.Execute: {
        const sql = this.#sql(d)
        const batchRows = d.u32()
        const prefetchBatches = d.u32()
        return { op: 'execute', id, sql, params: decodeParams(d), batchRows, prefetchBatches }
      }
      case Op.Exec:
        return { op: 'exec', id, sql: this.#sql(d) }
      case Op.Reset:
        return { op: 'reset', id }
      case Op.Credit: {
        const batches = d.u32()
        const release = decodeLeases(d)
        return release.length > 0 ? { op: 'credit', id, batches, release } : { op: 'credit', id, batches }
      }
      case Op.Release:
        return { op: 'release', id: 0, leases: decodeLeases(d) }
      case Op.CloseResult:
        return { op: 'closeResult', id }
      case Op.Cancel:
        return { op: 'cancel', id }
    }
  }

  #sql(d: Decoder): string {
    const slot = d.u32()
    if (slot === NO_SLOT) return d.str()
    if (slot & DEFINE) {
      const sql = d.str()
      this.#texts[slot & ~DEFINE] = sql
      return sql
    }
    return this.#texts[slot] as string
  }
}

enum Kind {
  Done = 1,
  Rows = 2,
  Batch = 3,
  End = 4,
  Ok = 5,
}

/** Batches larger than this travel as their own SharedArrayBuffer (through the port). */
const INLINE_BATCH_BYTES = 16 * 1024

/** Each Arrow type's code in a layout; code 0 (no type) marks a storage-class column. */
const TYPE_IDS = [
  null,
  'bool',
  'int',
  'float',
  'utf8',
  'binary',
  'decimal',
  'date32',
  'timestamp',
  'time64',
  'interval',
  'list',
  'uint32',
] as const

const UTF8_HINTS = [undefined, 'json', 'time'] as const

/** A typed column's Arrow type (a server database's column): its code, then its parameters. */
function encodeType(e: Encoder, type: ArrowTypeDesc | undefined): void {
  e.u8(TYPE_IDS.indexOf(type?.id ?? null))
  switch (type?.id) {
    case 'int':
    case 'float':
      e.u8(type.bits)
      break
    case 'utf8':
      e.u8(UTF8_HINTS.indexOf(type.hint))
      break
    case 'decimal':
      e.i32(type.precision)
      e.i32(type.scale)
      break
    case 'timestamp':
      e.u8(type.tz === null ? 0 : 1)
      if (type.tz !== null) e.str(type.tz)
      break
    case 'list':
      encodeType(e, type.child)
      break
  }
}

function decodeType(d: Decoder): ArrowTypeDesc | undefined {
  const id = TYPE_IDS[d.u8()]
  switch (id) {
    case null:
      return undefined
    case 'uint32':
      return { id }
    case 'int':
      return { id, bits: d.u8() as 16 | 32 | 64 }
    case 'float':
      return { id, bits: d.u8() as 32 | 64 }
    case 'utf8': {
      const hint = UTF8_HINTS[d.u8()]
      // Absent rather than undefined: the very object the worker described.
      return hint === undefined ? { id } : { id, hint }
    }
    case 'decimal': {
      const precision = d.i32()
      return { id, precision, scale: d.i32() }
    }
    case 'timestamp':
      return { id, tz: d.u8() === 0 ? null : d.str() }
    case 'list': {
      const child = decodeType(d)
      if (child === undefined) throw new Error('a list type without its element type')
      return { id, child }
    }
    case undefined:
      throw new Error('an unknown Arrow type code')
    default:
      return { id }
  }
}

function encodeLayout(e: Encoder, layout: ColumnLayout): void {
  e.u8(layout.kind)
  e.i32(layout.length)
  e.i32(layout.nullCount)
  e.i32(layout.validity)
  e.i32(layout.offsets)
  e.i32(layout.values)
  e.i32(layout.valuesBytes)
  e.i32(layout.typeIds)
  const children = layout.children
  e.u32(children === null ? 0 : children.length + 1)
  if (children) for (const child of children) encodeLayout(e, child)
  encodeType(e, layout.type)
}

function decodeLayout(d: Decoder): ColumnLayout {
  const kind = d.u8()
  const length = d.i32()
  const nullCount = d.i32()
  const validity = d.i32()
  const offsets = d.i32()
  const values = d.i32()
  const valuesBytes = d.i32()
  const typeIds = d.i32()
  const count = d.u32()
  let children: ColumnLayout[] | null = null
  if (count > 0) {
    children = new Array(count - 1)
    for (let i = 0; i < count - 1; i++) children[i] = decodeLayout(d)
  }
  const layout: ColumnLayout = {
    kind,
    length,
    nullCount,
    validity,
    offsets,
    values,
    valuesBytes,
    typeIds,
    children,
  }
  const type = decodeType(d)
  if (type !== undefined) layout.type = type
  return layout
}

function encodeBatch(e: Encoder, batch: BatchMessage | null): boolean {
  if (batch === null) {
    e.u8(0)
    return true
  }
  // A leased (pooled) buffer goes by handle: the main thread must give that very lease back.
  if (batch.lease !== 0 || batch.buffer.byteLength > INLINE_BATCH_BYTES) return false
  e.u8(1)
  e.u32(batch.numRows)
  e.u32(batch.columns.length)
  for (const layout of batch.columns) encodeLayout(e, layout)
  e.raw(new Uint8Array(batch.buffer))
  return true
}

function decodeBatch(d: Decoder): BatchMessage | null {
  if (d.u8() === 0) return null
  const numRows = d.u32()
  const columns: ColumnLayout[] = new Array(d.u32())
  for (let i = 0; i < columns.length; i++) columns[i] = decodeLayout(d)
  const buffer = d.shared(d.u32())
  // The copy in the ring's place is the main thread's own: nothing to give back.
  return { buffer, bytes: buffer.byteLength, numRows, columns, lease: 0 }
}

/** Encodes `reply` into `e` (reset first); false when it must go through the port. */
export function encodeReply(e: Encoder, reply: Reply): boolean {
  e.at = 0
  try {
    switch (reply.kind) {
      case 'started':
        if (!reply.returnsRows) {
          e.u8(Kind.Done)
          e.f64(reply.id)
          e.u8(reply.inTransaction ? 1 : 0)
          e.f64(reply.rowcount)
          e.i64(reply.lastInsertRowid)
          return true
        }
        e.u8(Kind.Rows)
        e.f64(reply.id)
        e.u8((reply.inTransaction ? 1 : 0) | (reply.done ? 2 : 0))
        e.u32(reply.columns.length)
        for (const name of reply.columns) e.str(name)
        return encodeBatch(e, reply.batch)
      case 'batch':
        e.u8(Kind.Batch)
        e.f64(reply.id)
        e.u8(reply.done ? 1 : 0)
        return encodeBatch(e, reply.batch)
      case 'end':
        e.u8(Kind.End)
        e.f64(reply.id)
        return true
      case 'ok':
        e.u8(Kind.Ok)
        e.f64(reply.id)
        e.u8(reply.inTransaction ? 1 : 0)
        // A `runInWorker` function's bytes may be a view over shared memory: structured clone
        // keeps that sharing, a copy through the ring would not.
        if (reply.value instanceof Uint8Array) return false
        return encodeValue(e, reply.value)
      default:
        return false
    }
  } catch (error) {
    if (error === OVERFLOW) return false
    throw error
  }
}

export function decodeReply(d: Decoder): Reply {
  const kind = d.u8() as Kind
  const id = d.f64()
  switch (kind) {
    case Kind.Done: {
      const inTransaction = d.u8() === 1
      const rowcount = d.f64()
      const lastInsertRowid = d.i64()
      return {
        kind: 'started',
        id,
        returnsRows: false,
        columns: [],
        rowcount,
        lastInsertRowid,
        inTransaction,
        batch: null,
        done: true,
      }
    }
    case Kind.Rows: {
      const flags = d.u8()
      const columns: string[] = new Array(d.u32())
      for (let i = 0; i < columns.length; i++) columns[i] = d.str()
      return {
        kind: 'started',
        id,
        returnsRows: true,
        columns,
        rowcount: -1,
        lastInsertRowid: 0n,
        inTransaction: (flags & 1) !== 0,
        batch: decodeBatch(d),
        done: (flags & 2) !== 0,
      }
    }
    case Kind.Batch: {
      const done = d.u8() === 1
      const batch = decodeBatch(d)
      if (batch === null) throw new Error('a batch reply without its batch')
      return { kind: 'batch', id, batch, done }
    }
    case Kind.End:
      return { kind: 'end', id }
    case Kind.Ok: {
      const inTransaction = d.u8() === 1
      return { kind: 'ok', id, value: decodeValue(d), inTransaction }
    }
  }
}
