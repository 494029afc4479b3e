/**
 * The loop every file writer shares: encoded chunks go to the destination one at a time, each
 * awaited (backpressure), with progress reported after each; on any failure the destination is
 * closed (a file removed) and the result closed, so a failed write leaves nothing running.
 */
import type { RecordBatch } from 'apache-arrow'
import type { CancelOptions } from '../cancel.js'
import type { AsyncResult } from '../result.js'
import { type Destination, openSink, type SinkOptions } from './sink.js'

/**
 * Progress of a write, reported after each chunk.
 *
 * @example
 * ```ts
 * await result.writeCSV('out.csv', { onProgress: ({ rows, bytes }) => console.log(rows, bytes) })
 * ```
 */
export interface WriteProgress {
  /** Rows encoded so far. */
  rows: number
  /** Bytes written to the destination so far. */
  bytes: number
}

/**
 * What a finished write reports.
 *
 * @example
 * ```ts
 * const { rows, bytes } = await result.writeIPC('out.arrow')
 * ```
 */
export type WriteStats = WriteProgress

/**
 * Options every `write*` method accepts: cancellation (`signal`, `timeoutMs`, covering the whole
 * write), what to do with a stream destination at the end, and progress.
 *
 * @example
 * ```ts
 * await result.writeCSV('out.csv', { signal: AbortSignal.timeout(60_000) })
 * ```
 */
export interface WriteOptions extends CancelOptions, SinkOptions {
  /** Called after each chunk reaches the destination (for a progress line). */
  onProgress?: (progress: WriteProgress) => void
}

/** An encoded chunk and how many rows it completes (0 for a header or footer). */
export interface Chunk {
  bytes: Uint8Array
  rows: number
}

/**
 * Writes the remaining rows of `result`, encoded by `encode`, to `destination`. Whatever fails
 * (a bad option, the destination, the query, a cancellation), the result is closed.
 */
export async function writeChunks(
  result: AsyncResult,
  destination: Destination,
  options: WriteOptions | undefined,
  encode: (batches: AsyncIterable<RecordBatch>) => AsyncIterable<Chunk>,
): Promise<WriteStats> {
  try {
    const onProgress = options?.onProgress
    if (onProgress !== undefined && typeof onProgress !== 'function') {
      throw new TypeError('option "onProgress" must be a function')
    }
    const chunks = encode(result.batches(options))
    const sink = await openSink(destination, options)
    let rows = 0
    try {
      for await (const chunk of chunks) {
        await sink.write(chunk.bytes)
        rows += chunk.rows
        onProgress?.({ rows, bytes: sink.bytes })
      }
      await sink.finish()
    } catch (error) {
      await sink.fail()
      throw error
    }
    return { rows, bytes: sink.bytes }
  } catch (error) {
    result.close()
    throw error
  }
}
