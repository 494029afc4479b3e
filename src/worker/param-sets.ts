/**
 * `executeMany`'s parameter sets as a driver receives them, in one of three forms: values (a
 * short list, structured-cloned), packed bytes (a long list: thread/packed-params.ts) or an Arrow
 * IPC stream (Arrow in: arrow-params.ts). A driver that can bind a form natively checks for it
 * (the SQLite driver's native path binds packed sets and plain Arrow columns in C); every driver
 * can take `eachParamSet`, one set at a time.
 */
import type { RecordBatch } from 'apache-arrow'
import { unpackParamsList } from '../thread/packed-params.js'
import type { BoundParams, PackedParams } from '../thread/protocol.js'
import { batchesFromIPC, paramsOfBatch } from './arrow-params.js'

/** An Arrow IPC stream in `ipc[0, byteLength)`: one set per row, bound by column name when `byName`. */
export interface ArrowSets {
  ipc: SharedArrayBuffer
  byteLength: number
  byName: boolean
}

export type ParamSets = readonly BoundParams[] | PackedParams | ArrowSets

export function isPacked(sets: ParamSets): sets is PackedParams {
  return 'count' in sets
}

export function isArrow(sets: ParamSets): sets is ArrowSets {
  return 'ipc' in sets
}

/** The record batches of Arrow sets. */
export function arrowBatches(sets: ArrowSets): RecordBatch[] {
  return batchesFromIPC(sets.ipc, sets.byteLength)
}

/** Each parameter set, made one at a time as they are iterated. */
export function* eachParamSet(sets: ParamSets): Generator<BoundParams> {
  if (isPacked(sets)) yield* unpackParamsList(sets)
  else if (isArrow(sets)) for (const batch of arrowBatches(sets)) yield* paramsOfBatch(batch, sets.byName)
  else yield* sets
}
