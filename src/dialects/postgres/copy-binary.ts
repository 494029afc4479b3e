/**
 * Decodes the stream of `COPY … TO STDOUT (FORMAT binary)` into record batches in shared memory.
 *
 * The stream is a header (signature, flags, extension), then one tuple per row (Int16 field
 * count, then per field an Int32 length, -1 for NULL, and the value's binary form), then an
 * Int16 -1 trailer. The server sends it in CopyData messages, in practice one per row; any split
 * is handled: an incomplete tuple waits in `#pending` for the next chunk.
 */
import type { BatchMessage, ColumnLayout } from '../../thread/protocol.js'
import { ColumnBuilder } from './column-builder.js'
import type { PgType } from './types.js'

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')

export class CopyBinaryDecoder {
  readonly #types: readonly PgType[]
  readonly #builders: ColumnBuilder[]
  readonly #batchRows: number
  readonly #onBatch: (batch: BatchMessage) => void
  #pending: Buffer | null = null
  #headerDone = false
  /** True once the trailer was read. */
  ended = false
  /** Batches emitted so far. */
  emitted = 0

  constructor(types: readonly PgType[], batchRows: number, onBatch: (batch: BatchMessage) => void) {
    this.#types = types
    this.#builders = types.map((t) => new ColumnBuilder(t.desc))
    this.#batchRows = batchRows
    this.#onBatch = onBatch
  }

  /** Rows decoded into the batch under construction. */
  get rows(): number {
    return this.#builders[0]?.length ?? 0
  }

  /** Decodes every complete tuple of `chunk` (after what was pending), emitting full batches. */
  push(chunk: Buffer): void {
    let buf = chunk
    if (this.#pending) {
      buf = Buffer.concat([this.#pending, chunk])
      this.#pending = null
    }
    let off = 0
    if (!this.#headerDone) {
      if (buf.length < 19) {
        this.#pending = buf
        return
      }
      if (!buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('COPY binary stream: bad signature')
      const extension = buf.readInt32BE(15)
      if (buf.length < 19 + extension) {
        this.#pending = buf
        return
      }
      off = 19 + extension
      this.#headerDone = true
    }
    const columns = this.#types.length
    while (off + 2 <= buf.length) {
      const fields = buf.readInt16BE(off)
      if (fields === -1) {
        this.ended = true
        return
      }
      if (fields !== columns)
        throw new Error(`COPY binary stream: a row has ${fields} fields, expected ${columns}`)
      // First find the tuple's end: decode only complete tuples.
      let end = off + 2
      for (let c = 0; c < columns; c++) {
        if (end + 4 > buf.length) {
          end = -1
          break
        }
        const len = buf.readInt32BE(end)
        end += 4 + Math.max(len, 0)
      }
      if (end < 0 || end > buf.length) break
      let at = off + 2
      for (let c = 0; c < columns; c++) {
        const len = buf.readInt32BE(at)
        at += 4
        const builder = this.#builders[c]!
        if (len < 0) builder.appendNull()
        else {
          this.#types[c]!.decode(builder, buf, at, len)
          at += len
        }
      }
      off = end
      if (this.rows >= this.#batchRows) this.#onBatch(this.finish())
    }
    if (off < buf.length) this.#pending = Buffer.from(buf.subarray(off))
  }

  /** Finishes the batch under construction (possibly empty) into a new SharedArrayBuffer. */
  finish(): BatchMessage {
    const numRows = this.rows
    let size = 0
    for (const builder of this.#builders) size += builder.size()
    const buffer = new SharedArrayBuffer(Math.max(size, 8))
    const target = new Uint8Array(buffer)
    const columns: ColumnLayout[] = []
    let at = 0
    for (const builder of this.#builders) {
      const written = builder.write(target, at)
      columns.push(written.layout)
      at = written.end
      builder.reset()
    }
    this.emitted++
    // Lease 0: PostgreSQL batches are not pooled; each is freed when its last holder lets it go.
    return { buffer, numRows, columns, lease: 0 }
  }
}
