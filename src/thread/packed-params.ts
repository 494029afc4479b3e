/**
 * `executeMany`'s parameter sets as bytes in shared memory, so that a list of a hundred thousand
 * sets crosses to the worker without structured clone (which cost the main thread about 2 µs a
 * set). The main thread packs the sets once, one after another, in the encoding the ring uses
 * for a single statement's parameters (codec.ts); the worker decodes them one at a time while it
 * binds them, so the whole list never exists twice in its heap. The buffer is written once
 * before it is posted and only read afterwards: no synchronisation beyond the message itself.
 */
import { Decoder, decodeParams, Encoder, encodeParams, OVERFLOW } from './codec.js'
import type { BoundParams, PackedParams } from './protocol.js'

/** First size of the packing buffer; it doubles when a set does not fit. */
const INITIAL_BYTES = 64 * 1024

/**
 * Packs `list` into a SharedArrayBuffer; null when a value has no byte encoding (a bigint
 * outside int64: the worker's driver must see it to report its own error), and the caller sends
 * the list as it is.
 */
export function packParamsList(list: readonly BoundParams[]): PackedParams | null {
  let encoder = new Encoder(INITIAL_BYTES)
  for (const params of list) {
    const start = encoder.at
    for (;;) {
      try {
        if (!encodeParams(encoder, params)) return null
        break
      } catch (error) {
        if (error !== OVERFLOW) throw error
        const larger = new Encoder(encoder.bytes.length * 2)
        larger.bytes.set(encoder.bytes.subarray(0, start))
        larger.at = start
        encoder = larger
      }
    }
  }
  const buffer = new SharedArrayBuffer(encoder.at)
  new Uint8Array(buffer).set(encoder.bytes.subarray(0, encoder.at))
  return { buffer, count: list.length }
}

/** The sets `packParamsList` packed, decoded one by one as they are iterated. */
export function* unpackParamsList(packed: PackedParams): Generator<BoundParams> {
  const decoder = new Decoder(new Uint8Array(packed.buffer))
  for (let i = 0; i < packed.count; i++) yield decodeParams(decoder)
}
