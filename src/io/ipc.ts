/**
 * Arrow IPC out of a result: the file format (random access, `.arrow`) or the stream format,
 * through apache-arrow's own writers, one record batch at a time.
 *
 * The writers emit many small buffers per batch into their own queue; a collecting queue takes
 * them synchronously after each batch, so the destination gets one chunk per batch and the next
 * batch is not read until that chunk is written.
 */
import {
  AsyncByteQueue,
  type RecordBatch,
  RecordBatchFileWriter,
  RecordBatchStreamWriter,
  type RecordBatchWriter,
  type Schema,
  tableToIPC,
} from 'apache-arrow'
import type { AsyncResult } from '../result.js'
import type { Destination } from './sink.js'
import { stableBatches } from './stable-batches.js'
import { type Chunk, type WriteOptions, type WriteStats, writeChunks } from './write.js'

/**
 * Arrow IPC's two formats: 'file' (with a footer for random access) or 'stream'.
 *
 * @example
 * ```ts
 * await result.writeIPC(socket, { format: 'stream' })
 * ```
 */
export type IpcFormat = 'file' | 'stream'

/**
 * Options of `writeIPC`.
 *
 * @example
 * ```ts
 * await result.writeIPC('events.arrows', { format: 'stream' })
 * ```
 */
export interface IpcWriteOptions extends WriteOptions {
  /** 'file' (default) or 'stream'. */
  format?: IpcFormat
}

/**
 * Options of `toIPC`.
 *
 * @example
 * ```ts
 * const bytes = await result.toIPC({ format: 'file' })
 * ```
 */
export interface IpcOptions {
  /** 'stream' (default, as apache-arrow's `tableToIPC`) or 'file'. */
  format?: IpcFormat
  /** Aborts the read; the result is closed and the promise rejects with an `AbortError`. */
  signal?: AbortSignal
  /** A deadline for the whole read, in ms; past it the promise rejects with a `TimeoutError`. */
  timeoutMs?: number
}

/** Takes what the writer emits, synchronously, instead of queueing it for an async reader. */
class Collector extends AsyncByteQueue {
  #parts: Uint8Array[] = []

  override write(value: unknown): void {
    const bytes = value as Uint8Array
    if (bytes.byteLength > 0) this.#parts.push(bytes)
  }

  /** Everything emitted since the last take, as one copy (the parts may view shared memory). */
  take(): Uint8Array {
    const out = Buffer.concat(this.#parts)
    this.#parts = []
    return out
  }
}

function checkFormat(format: unknown, fallback: IpcFormat): IpcFormat {
  if (format === undefined) return fallback
  if (format !== 'file' && format !== 'stream') {
    throw new RangeError(`option "format" must be 'file' or 'stream', got ${JSON.stringify(format)}`)
  }
  return format
}

async function* ipcChunks(
  batches: AsyncIterable<RecordBatch>,
  schema: Schema,
  format: IpcFormat,
): AsyncGenerator<Chunk> {
  const collector = new Collector()
  const writer: RecordBatchWriter =
    format === 'file' ? new RecordBatchFileWriter() : new RecordBatchStreamWriter()
  writer.reset(collector as never)
  let wrote = false
  for await (const batch of stableBatches(batches, 'union')) {
    writer.write(batch)
    wrote = true
    yield { bytes: collector.take(), rows: batch.numRows }
  }
  // No rows: the file still carries the result's schema.
  if (!wrote) writer.reset(collector as never, schema)
  writer.close()
  yield { bytes: collector.take(), rows: 0 }
}

/** Writes the remaining rows of `result` as Arrow IPC, batch by batch. */
export function writeIPC(
  result: AsyncResult,
  destination: Destination,
  options?: IpcWriteOptions,
): Promise<WriteStats> {
  return writeChunks(result, destination, options, (batches) =>
    ipcChunks(batches, result.schema, checkFormat(options?.format, 'file')),
  )
}

/** The remaining rows of `result` as Arrow IPC bytes (types unified over every row, as `toArrow()`). */
export async function toIPC(result: AsyncResult, options?: IpcOptions): Promise<Uint8Array> {
  try {
    const format = checkFormat(options?.format, 'stream')
    return tableToIPC(await result.toArrow(options), format)
  } catch (error) {
    result.close()
    throw error
  }
}
