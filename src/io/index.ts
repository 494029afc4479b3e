/**
 * Writing results to files and streams: Arrow IPC, Parquet, CSV and NDJSON, each streamed
 * batch by batch. `AsyncResult` delegates its `write*` and `toIPC` methods here.
 */
export type { BlobEncoding } from './cells.js'
export { type CsvOptions, writeCSV } from './csv.js'
export { type IpcFormat, type IpcOptions, type IpcWriteOptions, toIPC, writeIPC } from './ipc.js'
export { type NdjsonOptions, writeNDJSON } from './ndjson.js'
export { type ParquetCompression, type ParquetOptions, writeParquet } from './parquet.js'
export type { Destination, SinkOptions } from './sink.js'
export { IncompatibleBatchError } from './stable-batches.js'
export type { WriteOptions, WriteProgress, WriteStats } from './write.js'
