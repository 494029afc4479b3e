/**
 * CSV out of a result (RFC 4180), a slice of rows per chunk.
 *
 * Rules: a header line of column names (unless `header: false`); a field is quoted when it
 * holds the delimiter, a double quote, CR or LF, or when it equals the NULL marker (so the empty
 * string `""` and NULL, an empty unquoted field, stay apart), and quotes inside are doubled.
 * INTEGERs are written as exact integers (never rounded, whatever the intMode), REALs as
 * JavaScript's shortest round-trip form (`0.1`, `1e+21`, `Infinity`), BLOBs as base64 (or
 * hex), lines end with CRLF as RFC 4180 says (or `newline: '\n'`).
 */
import type { RecordBatch } from 'apache-arrow'
import type { AsyncResult } from '../result.js'
import {
  type BlobEncoding,
  blobText,
  type Cell,
  checkBlobEncoding,
  forEachRow,
  jsonText,
  ROWS_PER_CHUNK,
} from './cells.js'
import type { Destination } from './sink.js'
import { type Chunk, type WriteOptions, type WriteStats, writeChunks } from './write.js'

/**
 * Options of `writeCSV`.
 *
 * @example
 * ```ts
 * await result.writeCSV('out.tsv', { delimiter: '\t', newline: '\n', nullValue: 'NULL', blobs: 'hex' })
 * ```
 */
export interface CsvOptions extends WriteOptions {
  /** Write a first line of column names (default true). */
  header?: boolean
  /** Field separator, one character other than `"`, CR or LF (default `,`). */
  delimiter?: string
  /** Line ending (default `\r\n`, as RFC 4180). */
  newline?: '\r\n' | '\n'
  /** The text of a NULL field, unquoted (default: empty). */
  nullValue?: string
  /** How BLOBs are written: 'base64' (default) or 'hex'. */
  blobs?: BlobEncoding
}

interface CsvRules {
  header: boolean
  delimiter: string
  newline: string
  nullValue: string
  blobs: BlobEncoding
  /** Matches a field that must be quoted (besides the NULL marker itself). */
  special: RegExp
}

function rules(options: CsvOptions | undefined): CsvRules {
  const delimiter = options?.delimiter ?? ','
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || /["\r\n]/.test(delimiter)) {
    throw new RangeError(
      `option "delimiter" must be one character other than '"', CR or LF, got ${JSON.stringify(delimiter)}`,
    )
  }
  const newline = options?.newline ?? '\r\n'
  if (newline !== '\r\n' && newline !== '\n') {
    throw new RangeError(`option "newline" must be '\\r\\n' or '\\n', got ${JSON.stringify(newline)}`)
  }
  const nullValue = options?.nullValue ?? ''
  if (typeof nullValue !== 'string' || /["\r\n]/.test(nullValue) || nullValue.includes(delimiter)) {
    throw new RangeError(
      `option "nullValue" must be a string without quotes, line breaks or the delimiter, got ${JSON.stringify(nullValue)}`,
    )
  }
  const escaped = delimiter.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&')
  return {
    header: options?.header ?? true,
    delimiter,
    newline,
    nullValue,
    blobs: checkBlobEncoding(options?.blobs),
    special: new RegExp(`["\\r\\n${escaped}]`),
  }
}

function quote(text: string, csv: CsvRules): string {
  if (text === csv.nullValue || csv.special.test(text)) return `"${text.replaceAll('"', '""')}"`
  return text
}

function field(cell: Cell, csv: CsvRules): string {
  if (cell === null) return csv.nullValue
  if (typeof cell === 'string') return quote(cell, csv)
  if (typeof cell === 'bigint' || typeof cell === 'number' || typeof cell === 'boolean') {
    return quote(String(cell), csv)
  }
  if (cell instanceof Uint8Array) return quote(blobText(cell, csv.blobs), csv)
  return quote(jsonText(cell.json, csv.blobs), csv)
}

async function* csvChunks(
  batches: AsyncIterable<RecordBatch>,
  names: string[],
  csv: CsvRules,
): AsyncGenerator<Chunk> {
  if (csv.header) {
    yield {
      bytes: Buffer.from(names.map((name) => quote(name, csv)).join(csv.delimiter) + csv.newline),
      rows: 0,
    }
  }
  for await (const batch of batches) {
    for (let from = 0; from < batch.numRows; from += ROWS_PER_CHUNK) {
      const to = Math.min(from + ROWS_PER_CHUNK, batch.numRows)
      let text = ''
      forEachRow(batch, from, to, (cells) => {
        text += cells.map((cell) => field(cell, csv)).join(csv.delimiter) + csv.newline
      })
      yield { bytes: Buffer.from(text), rows: to - from }
    }
  }
}

/** Writes the remaining rows of `result` as CSV. */
export function writeCSV(
  result: AsyncResult,
  destination: Destination,
  options?: CsvOptions,
): Promise<WriteStats> {
  return writeChunks(result, destination, options, (batches) =>
    csvChunks(batches, result.keys(), rules(options)),
  )
}
