/**
 * The JavaScript column writers: turn one batch of rows (as better-sqlite3 hands them over in
 * raw mode with safe integers: bigint, number, string, Buffer or null) into Arrow buffers inside
 * one fresh SharedArrayBuffer.
 *
 * Two phases. `planColumn` scans a column, picks its kind, and encodes it into worker-local
 * memory (variable-length bytes go to a growable scratch buffer). `writeBatch` then sizes one
 * zeroed SharedArrayBuffer for the whole batch (from the pool, ./buffer-pool.ts) and copies every
 * piece in at an 8-byte-aligned offset. Once posted, the main thread owns the buffer; the pool
 * reuses it only after the main thread gives it back.
 */
import { type BatchMessage, ColumnKind, type ColumnLayout } from '../thread/protocol.js'
import { batchBuffers } from '../worker/buffer-pool.js'

type Cell = unknown

/** One column's encoded pieces, before they are placed in the shared buffer. */
interface ColumnPlan {
  kind: ColumnKind
  length: number
  nullCount: number
  validity: Uint8Array | null
  /** Int64 / Float64 values, or Int32 offsets for text and blobs. */
  fixed: BigInt64Array | Float64Array | Int32Array | null
  /** Slice of the scratch buffer holding text or blob bytes. */
  bytesStart: number
  bytesEnd: number
  typeIds: Int8Array | null
  unionOffsets: Int32Array | null
  children: ColumnPlan[] | null
}

let scratch = Buffer.allocUnsafeSlow(1 << 20)
let scratchUsed = 0

function reserve(bytes: number): void {
  if (scratchUsed + bytes <= scratch.length) return
  let size = scratch.length * 2
  while (size < scratchUsed + bytes) size *= 2
  const grown = Buffer.allocUnsafeSlow(size)
  scratch.copy(grown, 0, 0, scratchUsed)
  scratch = grown
}

function kindOf(value: Cell): ColumnKind {
  switch (typeof value) {
    case 'bigint':
      return ColumnKind.Int
    case 'number':
      return ColumnKind.Float
    case 'string':
      return ColumnKind.Text
    default:
      return value === null ? ColumnKind.Null : ColumnKind.Blob
  }
}

function emptyPlan(kind: ColumnKind, length: number): ColumnPlan {
  return {
    kind,
    length,
    nullCount: 0,
    validity: null,
    fixed: null,
    bytesStart: 0,
    bytesEnd: 0,
    typeIds: null,
    unionOffsets: null,
    children: null,
  }
}

/** Encodes `values` (all of `kind` or null) as a plain Arrow column of that kind. */
function planPure(kind: ColumnKind, values: readonly Cell[], nullCount: number): ColumnPlan {
  const n = values.length
  const plan = emptyPlan(kind, n)
  plan.nullCount = nullCount
  if (kind === ColumnKind.Null) {
    plan.nullCount = n
    return plan
  }
  const validity = nullCount > 0 ? new Uint8Array((n + 7) >> 3) : null
  plan.validity = validity
  if (kind === ColumnKind.Int || kind === ColumnKind.Float) {
    const out = kind === ColumnKind.Int ? new BigInt64Array(n) : new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const v = values[i]
      if (v === null) continue
      out[i] = v as never
      if (validity) validity[i >> 3]! |= 1 << (i & 7)
    }
    plan.fixed = out
    return plan
  }
  const offsets = new Int32Array(n + 1)
  plan.bytesStart = scratchUsed
  if (kind === ColumnKind.Text && writeAsciiText(values, validity, offsets)) {
    plan.bytesEnd = scratchUsed
    plan.fixed = offsets
    return plan
  }
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v !== null) {
      if (validity) validity[i >> 3]! |= 1 << (i & 7)
      if (kind === ColumnKind.Text) {
        const s = v as string
        reserve(s.length * 3)
        scratchUsed += scratch.write(s, scratchUsed)
      } else {
        const b = v as Uint8Array
        reserve(b.length)
        scratch.set(b, scratchUsed)
        scratchUsed += b.length
      }
    }
    offsets[i + 1] = scratchUsed - plan.bytesStart
  }
  if (scratchUsed - plan.bytesStart > 0x7fffffff) {
    throw new RangeError('a single batch column exceeds 2 GiB of text or blob data')
  }
  plan.bytesEnd = scratchUsed
  plan.fixed = offsets
  return plan
}

/**
 * The fast path for text: one native write for the whole column instead of one per value. The
 * values are joined and encoded at once; if the UTF-8 byte count equals the UTF-16 length, every
 * character was ASCII (one byte each) and the offsets follow from the string lengths. Otherwise
 * it writes nothing and returns false, and the caller encodes value by value.
 */
function writeAsciiText(values: readonly Cell[], validity: Uint8Array | null, offsets: Int32Array): boolean {
  const n = values.length
  let joined: string
  try {
    joined = values.join('') // NULLs join as ''
  } catch {
    return false // beyond V8's longest string: encode value by value
  }
  reserve(joined.length * 3)
  const written = scratch.write(joined, scratchUsed)
  if (written !== joined.length) return false
  let at = 0
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v !== null) {
      if (validity) validity[i >> 3]! |= 1 << (i & 7)
      at += (v as string).length
    }
    offsets[i + 1] = at
  }
  scratchUsed += written
  return true
}

/** Encodes a column whose values mix storage classes as a dense union of the five kinds. */
function planMixed(values: readonly Cell[]): ColumnPlan {
  const n = values.length
  const typeIds = new Int8Array(n)
  const unionOffsets = new Int32Array(n)
  const parts: Cell[][] = [[], [], [], [], []]
  for (let i = 0; i < n; i++) {
    const v = values[i]
    const k = kindOf(v)
    const part = parts[k]!
    typeIds[i] = k
    unionOffsets[i] = part.length
    part.push(v)
  }
  const plan = emptyPlan(ColumnKind.Mixed, n)
  plan.nullCount = parts[ColumnKind.Null]!.length
  plan.typeIds = typeIds
  plan.unionOffsets = unionOffsets
  plan.children = parts.map((part, k) => planPure(k as ColumnKind, part, 0))
  return plan
}

/**
 * Picks the kind of column `c` from its values in this batch. A column that is all NULL takes
 * its declared kind (if it has one) so that batches of a typed column agree.
 */
function planColumn(rows: readonly Cell[][], c: number, declared: ColumnKind): ColumnPlan {
  const n = rows.length
  const values = new Array<Cell>(n)
  let kind: ColumnKind = ColumnKind.Null
  let mixed = false
  let nullCount = 0
  for (let i = 0; i < n; i++) {
    const v = (rows[i] as Cell[])[c]
    values[i] = v
    if (v === null) {
      nullCount++
      continue
    }
    const k = kindOf(v)
    if (kind === ColumnKind.Null) kind = k
    else if (k !== kind) mixed = true
  }
  if (mixed) return planMixed(values)
  if (kind === ColumnKind.Null && declared !== ColumnKind.Null) kind = declared
  return planPure(kind, values, nullCount)
}

const align8 = (n: number): number => (n + 7) & ~7

/** Bytes this column (and its children) need in the shared buffer. */
function sizeOf(plan: ColumnPlan): number {
  let size = 0
  if (plan.validity) size += align8(plan.validity.byteLength)
  if (plan.fixed) size += align8(plan.fixed.byteLength)
  size += align8(plan.bytesEnd - plan.bytesStart)
  if (plan.typeIds) size += align8(plan.typeIds.byteLength)
  if (plan.unionOffsets) size += align8(plan.unionOffsets.byteLength)
  for (const child of plan.children ?? []) size += sizeOf(child)
  return size
}

/** Copies a plan into `target` starting at `cursor.at`, returning its layout. */
function place(plan: ColumnPlan, target: Uint8Array, cursor: { at: number }): ColumnLayout {
  const put = (bytes: Uint8Array | null): number => {
    if (bytes === null) return -1
    const at = cursor.at
    target.set(bytes, at)
    cursor.at = align8(at + bytes.byteLength)
    return at
  }
  const view = (a: ArrayBufferView | null): Uint8Array | null =>
    a === null ? null : new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  const layout: ColumnLayout = {
    kind: plan.kind,
    length: plan.length,
    nullCount: plan.nullCount,
    validity: put(plan.validity),
    offsets: -1,
    values: -1,
    valuesBytes: 0,
    typeIds: -1,
    children: null,
  }
  if (plan.kind === ColumnKind.Int || plan.kind === ColumnKind.Float) {
    layout.values = put(view(plan.fixed))
    layout.valuesBytes = plan.length * 8
  } else if (plan.kind === ColumnKind.Text || plan.kind === ColumnKind.Blob) {
    layout.offsets = put(view(plan.fixed))
    layout.valuesBytes = plan.bytesEnd - plan.bytesStart
    layout.values = put(scratch.subarray(plan.bytesStart, plan.bytesEnd))
  } else if (plan.kind === ColumnKind.Mixed) {
    layout.typeIds = put(view(plan.typeIds))
    layout.offsets = put(view(plan.unionOffsets))
    layout.children = (plan.children ?? []).map((child) => place(child, target, cursor))
  }
  return layout
}

/**
 * Writes `rows` (arrays of `numColumns` cells) as one record batch in a pooled SharedArrayBuffer.
 * `declared` gives, per column, the kind an all-NULL column should take.
 */
export function writeBatch(
  rows: readonly Cell[][],
  numColumns: number,
  declared: readonly ColumnKind[],
): BatchMessage {
  scratchUsed = 0
  const plans: ColumnPlan[] = []
  for (let c = 0; c < numColumns; c++) {
    plans.push(planColumn(rows, c, declared[c] ?? ColumnKind.Null))
  }
  let total = 0
  for (const plan of plans) total += sizeOf(plan)
  const { buffer, offset, lease } = batchBuffers.take(total)
  const target = new Uint8Array(buffer)
  const cursor = { at: offset }
  const columns = plans.map((plan) => place(plan, target, cursor))
  return { buffer, bytes: Math.max(total, 8), lease, numRows: rows.length, columns }
}

/** Maps a declared column type to the kind SQLite's affinity rules give it (section 3.1 of SQLite's "Datatypes In SQLite"). */
export function declaredKind(declaredType: string | null): ColumnKind {
  if (!declaredType) return ColumnKind.Null
  const t = declaredType.toUpperCase()
  if (t.includes('INT')) return ColumnKind.Int
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return ColumnKind.Text
  if (t.includes('BLOB')) return ColumnKind.Blob
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return ColumnKind.Float
  return ColumnKind.Null
}
