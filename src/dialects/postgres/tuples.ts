/**
 * Decodes rows in PostgreSQL's binary format into record batches in shared memory. A DataRow
 * message's body is an Int16 field count, then per field an Int32 length (-1 for NULL) and the
 * value's binary form; the wire tap hands each one over as it is read off the socket.
 */
import type { BatchMessage, ColumnLayout } from '../../thread/protocol.js'
import { ColumnBuilder } from './column-builder.js'
import type { PgType } from './types.js'

export class TupleDecoder {
  readonly #types: readonly PgType[]
  readonly #builders: ColumnBuilder[]
  readonly #batchRows: number
  readonly #onBatch: (batch: BatchMessage) => void
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

  /** Decodes the row in `buf[start, end)`, emitting the batch when it is full. */
  row(buf: Buffer, start: number, end: number): void {
    const columns = this.#types.length
    const fields = buf.readInt16BE(start)
    if (fields !== columns) throw new Error(`a row has ${fields} fields, expected ${columns}`)
    let at = start + 2
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
    if (at !== end) throw new Error(`a row has ${end - at} bytes beyond its ${columns} fields`)
    if (this.rows >= this.#batchRows) this.#onBatch(this.finish())
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
