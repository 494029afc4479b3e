/**
 * NDJSON (JSON Lines) out of a result: one JSON object per row, keyed by column name, a slice of
 * rows per chunk.
 *
 * Rules: NULL is `null`; INTEGERs are JSON integers written exactly (digits beyond 2^53 too,
 * whatever the intMode: read them back with a parser that keeps big integers); REALs are JSON
 * numbers, except ±Infinity (which SQLite can hold and JSON cannot), written as the strings
 * "Infinity" and "-Infinity"; TEXT is a JSON string; BLOBs are base64 strings (or hex).
 */
import type { RecordBatch } from 'apache-arrow'
import type { AsyncResult } from '../result.js'
import {
  type BlobEncoding,
  type Cell,
  checkBlobEncoding,
  forEachRow,
  jsonText,
  ROWS_PER_CHUNK,
} from './cells.js'
import type { Destination } from './sink.js'
import { type Chunk, type WriteOptions, type WriteStats, writeChunks } from './write.js'

/**
 * Options of `writeNDJSON`.
 *
 * @example
 * ```ts
 * await result.writeNDJSON('out.ndjson', { blobs: 'hex' })
 * ```
 */
export interface NdjsonOptions extends WriteOptions {
  /** How BLOBs are written: 'base64' (default) or 'hex'. */
  blobs?: BlobEncoding
}

function json(cell: Cell, blobs: BlobEncoding): string {
  const value = cell !== null && typeof cell === 'object' && !(cell instanceof Uint8Array) ? cell.json : cell
  return jsonText(value, blobs)
}

async function* ndjsonChunks(
  batches: AsyncIterable<RecordBatch>,
  names: string[],
  blobs: BlobEncoding,
): AsyncGenerator<Chunk> {
  const keys = names.map((name) => `${JSON.stringify(name)}:`)
  for await (const batch of batches) {
    for (let from = 0; from < batch.numRows; from += ROWS_PER_CHUNK) {
      const to = Math.min(from + ROWS_PER_CHUNK, batch.numRows)
      let text = ''
      forEachRow(batch, from, to, (cells) => {
        text += `{${cells.map((cell, c) => keys[c] + json(cell, blobs)).join(',')}}\n`
      })
      yield { bytes: Buffer.from(text), rows: to - from }
    }
  }
}

/** Writes the remaining rows of `result` as NDJSON. */
export function writeNDJSON(
  result: AsyncResult,
  destination: Destination,
  options?: NdjsonOptions,
): Promise<WriteStats> {
  return writeChunks(result, destination, options, (batches) =>
    ndjsonChunks(batches, result.keys(), checkBlobEncoding(options?.blobs)),
  )
}
