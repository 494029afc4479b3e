/**
 * Reads the cells of record batches for the text formats (CSV, NDJSON), a slice of rows at a
 * time, as the values SQLite holds: null, bigint (INTEGER, whatever the result's intMode: text
 * has no precision limit), number (REAL), string (TEXT) or Uint8Array (BLOB).
 */
import type { RecordBatch } from 'apache-arrow'

/** One SQLite value as the text writers see it. */
export type Cell = null | bigint | number | string | Uint8Array

/**
 * How BLOBs become text in CSV and NDJSON: base64 (RFC 4648, with padding) or lowercase hex.
 *
 * @example
 * ```ts
 * await result.writeCSV('out.csv', { blobs: 'hex' }) // x'00ff' is written 00ff
 * ```
 */
export type BlobEncoding = 'base64' | 'hex'

/** Rows a text writer encodes into one chunk. */
export const ROWS_PER_CHUNK = 2048

export function checkBlobEncoding(value: unknown): BlobEncoding {
  if (value === undefined) return 'base64'
  if (value !== 'base64' && value !== 'hex') {
    throw new RangeError(`option "blobs" must be 'base64' or 'hex', got ${JSON.stringify(value)}`)
  }
  return value
}

export function blobText(bytes: Uint8Array, encoding: BlobEncoding): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding)
}

/**
 * Calls `row(cells)` for rows [from, to) of `batch`; `cells` is reused between rows. Union
 * (mixed-type) columns give each row's own value.
 */
export function forEachRow(batch: RecordBatch, from: number, to: number, row: (cells: Cell[]) => void): void {
  const columns = batch.schema.fields.map((_, c) => batch.getChildAt(c)!)
  const cells: Cell[] = new Array(columns.length).fill(null)
  for (let i = from; i < to; i++) {
    for (let c = 0; c < columns.length; c++) cells[c] = (columns[c]!.get(i) ?? null) as Cell
    row(cells)
  }
}
