/**
 * Parquet out of a result, through parquet-wasm (Rust's arrow-rs Parquet writer compiled to
 * WebAssembly; an optional peer dependency, loaded only when Parquet is asked for).
 *
 * Each record batch crosses into WebAssembly as Arrow IPC and is freed there once written; the
 * writer flushes a row group every `rowGroupRows` rows, so memory holds at most one row group.
 * Parquet has no union type: a column holding several storage classes (SQLite lets a column mix
 * integers and text) is refused with an error naming it, rather than silently converted.
 */
import { DataType, RecordBatch, type Schema, Table, tableToIPC } from 'apache-arrow'
import type * as ParquetWasm from 'parquet-wasm'
import { kindOfType } from '../arrow/batch-data.js'
import type { AsyncResult } from '../result.js'
import { ColumnKind } from '../thread/protocol.js'
import { stableBatches } from './stable-batches.js'
import { type Chunk, type WriteOptions, type WriteStats, writeChunks } from './write.js'

/**
 * Parquet compression codecs offered ('lz4' is LZ4_RAW).
 *
 * @example
 * ```ts
 * await result.writeParquet('out.parquet', { compression: 'zstd' })
 * ```
 */
export type ParquetCompression = 'uncompressed' | 'snappy' | 'gzip' | 'brotli' | 'zstd' | 'lz4'

/**
 * Options of `writeParquet`.
 *
 * @example
 * ```ts
 * await result.writeParquet('out.parquet', { rowGroupRows: 1 << 20, compression: 'snappy' })
 * ```
 */
export interface ParquetOptions extends WriteOptions {
  /** Compression codec (default 'snappy'). */
  compression?: ParquetCompression
  /** Rows per row group (default 131072); memory holds one row group while writing. */
  rowGroupRows?: number
}

type Module = typeof ParquetWasm

const CODECS: Record<ParquetCompression, keyof typeof ParquetWasm.Compression> = {
  uncompressed: 'UNCOMPRESSED',
  snappy: 'SNAPPY',
  gzip: 'GZIP',
  brotli: 'BROTLI',
  zstd: 'ZSTD',
  lz4: 'LZ4_RAW',
}

/** Loads parquet-wasm, or explains how to get it. */
async function loadParquet(): Promise<Module> {
  try {
    return (await import('parquet-wasm')) as Module
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(
        'writeParquet needs the optional package "parquet-wasm", which is not installed: npm install parquet-wasm',
        { cause: error },
      )
    }
    throw error
  }
}

function writerProperties(pq: Module, options: ParquetOptions | undefined): ParquetWasm.WriterProperties {
  const compression = options?.compression ?? 'snappy'
  const codec = CODECS[compression]
  if (!Object.hasOwn(CODECS, compression) || codec === undefined) {
    throw new RangeError(
      `option "compression" must be one of ${Object.keys(CODECS).join(', ')}, got ${JSON.stringify(compression)}`,
    )
  }
  const rowGroupRows = options?.rowGroupRows ?? 131072
  if (!Number.isInteger(rowGroupRows) || rowGroupRows < 1) {
    throw new RangeError(`option "rowGroupRows" must be a positive integer, got ${rowGroupRows}`)
  }
  return new pq.WriterPropertiesBuilder()
    .setCompression(pq.Compression[codec])
    .setMaxRowGroupSize(rowGroupRows)
    .build()
}

function refuseUnions(schema: Schema): void {
  for (const field of schema.fields) {
    if (hasInterval(field.type)) {
      // parquet-wasm neither writes Arrow intervals nor fails on them (its stream stalls).
      throw new TypeError(
        `Parquet through parquet-wasm has no interval type, and column "${field.name}" holds intervals: ` +
          `cast it in the SQL (e.g. ${field.name}::text, or extract(epoch from ${field.name})), or write Arrow IPC`,
      )
    }
    if (kindOfType(field.type) === ColumnKind.Mixed) {
      throw new TypeError(
        `Parquet has no union type, and column "${field.name}" mixes SQLite storage classes ` +
          `(for example integers and text): CAST it in the SQL (e.g. CAST(${field.name} AS TEXT)), ` +
          'or write Arrow IPC, which keeps each value as it is',
      )
    }
  }
}

/** Whether `type` is an interval, or a list of them. */
function hasInterval(type: DataType): boolean {
  if (DataType.isInterval(type)) return true
  return DataType.isList(type) && hasInterval(type.children[0]!.type)
}

/** What the input side of the transform has done: rows handed over, whether it ended, how it failed. */
interface Pulled {
  rows: number
  done: boolean
  failure?: unknown
}

/** The batches as parquet-wasm RecordBatches, pulled one at a time; counts rows handed over. */
function wasmBatches(
  pq: Module,
  batches: AsyncIterable<RecordBatch>,
  schema: Schema,
  pulled: Pulled,
): ReadableStream<ParquetWasm.RecordBatch> {
  const iterator = stableBatches(batches, 'null')
  let any = false
  return new ReadableStream(
    {
      async pull(controller) {
        try {
          const next = await iterator.next()
          if (next.done && any) {
            pulled.done = true
            controller.close()
            return
          }
          // No rows at all: one empty batch, so the file still has the result's columns.
          const table = new Table([next.done ? new RecordBatch(schema, undefined) : next.value])
          refuseUnions(table.schema)
          any = true
          const wasm = pq.Table.fromIPCStream(tableToIPC(table, 'stream'))
          try {
            for (const part of wasm.recordBatches()) controller.enqueue(part)
          } finally {
            wasm.free()
          }
          pulled.rows += table.numRows
          if (next.done) {
            pulled.done = true
            controller.close()
          }
        } catch (error) {
          // parquet-wasm reports an input error as its own "Dyn casting error": keep the real one.
          pulled.failure = error
          throw error
        }
      },
      async cancel() {
        await iterator.return(undefined)
      },
    },
    { highWaterMark: 0 },
  )
}

async function* parquetChunks(
  pq: Module,
  batches: AsyncIterable<RecordBatch>,
  schema: Schema,
  properties: ParquetWasm.WriterProperties,
): AsyncGenerator<Chunk> {
  const pulled: Pulled = { rows: 0, done: false }
  let reported = 0
  try {
    const output: ReadableStream<Uint8Array> = await pq.transformParquetStream(
      wasmBatches(pq, batches, schema, pulled),
      properties,
    )
    for await (const bytes of output) {
      const rows = pulled.rows - reported
      reported = pulled.rows
      yield { bytes, rows }
    }
  } catch (error) {
    throw pulled.failure ?? error
  }
  // Rows handed over after the last chunk came out (the footer may come first) still count.
  if (pulled.rows > reported) yield { bytes: new Uint8Array(0), rows: pulled.rows - reported }
  // parquet-wasm ends its output without an error when its input fails after the first batch.
  if (pulled.failure) throw pulled.failure
  if (!pulled.done) throw new Error('parquet-wasm ended the file before the last batch was written')
}

/** Writes the remaining rows of `result` as a Parquet file. */
export function writeParquet(
  result: AsyncResult,
  path: string | URL,
  options?: ParquetOptions,
): Promise<WriteStats> {
  if (typeof path !== 'string' && !(path instanceof URL)) {
    result.close()
    return Promise.reject(new TypeError('writeParquet: the destination must be a file path or a file: URL'))
  }
  return writeChunks(result, path, options, (batches) =>
    (async function* () {
      const pq = await loadParquet()
      yield* parquetChunks(pq, batches, result.schema, writerProperties(pq, options))
    })(),
  )
}
