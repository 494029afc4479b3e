/**
 * A single-producer, single-consumer byte ring in a SharedArrayBuffer: one thread appends
 * records, the other reads them in the order they were appended. Two rings (requests, replies)
 * make the shared-memory transport of a worker; see ring-transport.ts.
 *
 * Layout of one ring at `offset` in its buffer:
 *   [0, 64)          Int32 `head`: bytes consumed so far (a wrapping counter). Written only by
 *                    the reader, after it has finished reading the record it frees.
 *   [64, 128)        Int32 `tail`: bytes published so far (a wrapping counter). Written only by
 *                    the writer, after every byte of the records it publishes is in place.
 *   [128, 128 + capacity)  the records.
 * `head` and `tail` sit 64 bytes apart so the two threads' stores do not share a cache line.
 *
 * A record is `[u32 size][u32 seq][size bytes]`, padded to a multiple of 8, and never wraps: when
 * it does not fit before the end of the data area, the writer writes PAD there and starts the
 * record at 0 (the reader skips from PAD to 0).
 *
 * Races. The only shared words are `head` and `tail`, each with one writer, read and written with
 * sequentially consistent atomics; the record bytes are plain reads and writes ordered by them:
 * the writer fills bytes the reader has released (it reads `head` first) and then stores `tail`;
 * the reader reads bytes below the `tail` it loaded and then stores `head`. A stale `head` only
 * makes the writer see less room (it then falls back to the port), a stale `tail` only makes the
 * reader see fewer records (the bell that follows every publish makes it look again).
 */

const HEAD = 0
const TAIL = 16
const HEADER_BYTES = 128
const RECORD_HEADER_BYTES = 8
/** The `size` that marks the rest of the data area as unused. */
const PAD = 0xffffffff

/** Bytes one ring of `capacity` bytes takes in its buffer. */
export function ringBytes(capacity: number): number {
  return HEADER_BYTES + capacity
}

const align8 = (n: number): number => (n + 7) & ~7

abstract class RingEnd {
  protected readonly index: Int32Array
  protected readonly view: DataView
  readonly bytes: Uint8Array
  protected readonly capacity: number

  /** `capacity` must be a power of two, at least 64, and below 2^30. */
  constructor(buffer: SharedArrayBuffer, offset: number, capacity: number) {
    this.index = new Int32Array(buffer, offset, HEADER_BYTES / 4)
    this.view = new DataView(buffer, offset + HEADER_BYTES, capacity)
    this.bytes = new Uint8Array(buffer, offset + HEADER_BYTES, capacity)
    this.capacity = capacity
  }
}

export class RingWriter extends RingEnd {
  /** Our own copy of `tail` (only this thread writes it). */
  #tail = 0

  /** The largest payload `write` can ever accept. */
  get maxPayload(): number {
    return this.capacity / 4 - RECORD_HEADER_BYTES
  }

  /**
   * Appends `payload[0, size)` as record `seq` and publishes it. Returns false, writing nothing,
   * when the ring has no room (the caller then uses the port).
   */
  write(seq: number, payload: Uint8Array, size: number): boolean {
    if (size > this.maxPayload) return false
    const total = align8(RECORD_HEADER_BYTES + size)
    const head = Atomics.load(this.index, HEAD)
    let tail = this.#tail
    let at = tail & (this.capacity - 1)
    const room = this.capacity - at
    const skip = room < total ? room : 0
    if (((tail - head) | 0) + skip + total > this.capacity) return false
    if (skip > 0) {
      this.view.setUint32(at, PAD, true)
      tail = (tail + skip) | 0
      at = 0
    }
    this.view.setUint32(at, size, true)
    this.view.setUint32(at + 4, seq, true)
    this.bytes.set(size === payload.length ? payload : payload.subarray(0, size), at + RECORD_HEADER_BYTES)
    this.#tail = (tail + total) | 0
    // Publish: everything written above happens-before the reader's load of this value.
    Atomics.store(this.index, TAIL, this.#tail)
    return true
  }
}

export class RingReader extends RingEnd {
  /** Our own copy of `head` (only this thread writes it). */
  #head = 0
  /** The `tail` last loaded: records below it are complete. */
  #tail = 0
  /** The current record (valid after `peek` returned true): its seq, payload offset and size. */
  seq = 0
  at = 0
  size = 0

  /** Makes the oldest unread record current; false when there is none. */
  peek(): boolean {
    if (this.#head === this.#tail) {
      this.#tail = Atomics.load(this.index, TAIL)
      if (this.#head === this.#tail) return false
    }
    let at = this.#head & (this.capacity - 1)
    if (this.view.getUint32(at, true) === PAD) {
      // The writer only pads when the record after it is published in the same store.
      this.#head = (this.#head + this.capacity - at) | 0
      at = 0
    }
    this.size = this.view.getUint32(at, true)
    this.seq = this.view.getUint32(at + 4, true)
    this.at = at + RECORD_HEADER_BYTES
    return true
  }

  /** Frees the current record (after its payload has been read). */
  consume(): void {
    // `peek` already moved `#head` past any PAD: it points at the current record.
    this.#head = (this.#head + align8(RECORD_HEADER_BYTES + this.size)) | 0
    Atomics.store(this.index, HEAD, this.#head)
  }
}
