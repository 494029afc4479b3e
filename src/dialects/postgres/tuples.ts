/**
 * Decodes rows in PostgreSQL's binary format into record batches in shared memory. A DataRow
 * message's body is an Int16 field count, then per field an Int32 length (-1 for NULL) and the
 * value's binary form; the wire tap hands each one over as it is read off the socket.
 */
import type { ArrowTypeDesc, BatchMessage, ColumnLayout } from '../../thread/protocol.js'
import { batchBuffers } from '../../worker/buffer-pool.js'
import { ColumnBuilder } from './column-builder.js'
import type { PgType } from './types.js'

/** Bytes of builder buffers a pool keeps at most. */
const MAX_POOLED_BYTES = 1024 * 1024

/**
 * Column builders kept between the statements of one connection, by Arrow type, so that a
 * statement run again allocates none (each builder holds three buffers, a few microseconds to
 * allocate and more to collect). Up to MAX_POOLED_BYTES in all: a big result's grown buffers are
 * dropped with it rather than held for the connection's lifetime.
 */
export class BuilderPool {
  readonly #free = new Map<ArrowTypeDesc, ColumnBuilder[]>()
  #bytes = 0

  take(desc: ArrowTypeDesc): ColumnBuilder {
    const builder = this.#free.get(desc)?.pop()
    if (!builder) return new ColumnBuilder(desc)
    this.#bytes -= builder.capacity
    return builder
  }

  give(builder: ColumnBuilder): void {
    const bytes = builder.capacity
    if (this.#bytes + bytes > MAX_POOLED_BYTES) return
    builder.reset()
    const free = this.#free.get(builder.desc)
    if (free) free.push(builder)
    else this.#free.set(builder.desc, [builder])
    this.#bytes += bytes
  }
}

export class TupleDecoder {
  readonly #types: readonly PgType[]
  readonly #builders: ColumnBuilder[]
  readonly #batchRows: number
  readonly #onBatch: (batch: BatchMessage) => void
  readonly #pool: BuilderPool
  /** Batches emitted so far. */
  emitted = 0

  constructor(
    types: readonly PgType[],
    batchRows: number,
    onBatch: (batch: BatchMessage) => void,
    pool: BuilderPool,
  ) {
    this.#types = types
    this.#builders = types.map((t) => pool.take(t.desc))
    this.#batchRows = batchRows
    this.#onBatch = onBatch
    this.#pool = pool
  }

  /** Gives the builders back to the pool: the decoder must not be used after this. */
  release(): void {
    for (const builder of this.#builders) this.#pool.give(builder)
  }

  /** Rows decoded into the batch under construction (counted: a row may have no columns). */
  rows = 0

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
    if (++this.rows >= this.#batchRows) this.#onBatch(this.finish())
  }

  /** Finishes the batch under construction (possibly empty) into a region of shared memory. */
  finish(): BatchMessage {
    const numRows = this.rows
    let size = 0
    for (const builder of this.#builders) size += builder.size()
    const { buffer, offset, lease } = batchBuffers.take(size)
    const target = new Uint8Array(buffer)
    const columns: ColumnLayout[] = []
    let at = offset
    for (const builder of this.#builders) {
      const written = builder.write(target, at)
      columns.push(written.layout)
      at = written.end
      builder.reset()
    }
    this.emitted++
    this.rows = 0
    return { buffer, bytes: Math.max(size, 8), numRows, columns, lease }
  }
}
