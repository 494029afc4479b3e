/**
 * The worker's batch buffers: SharedArrayBuffers that the main thread gives back once it is done
 * with them, reused for later batches so that streaming a long result allocates (almost) nothing.
 *
 * Why. V8 counts no SharedArrayBuffer toward any isolate's heap, and a buffer lives until every
 * thread has collected its wrapper. On the native path the worker allocates so little JS that it
 * almost never collects, so each batch it posted stayed alive: memory grew with the row count.
 *
 * Ownership of a buffer, one state at a time:
 * - free: in `#free`, held only here; nobody else has a wrapper that can still be read.
 * - leased: posted to the main thread under a lease id. The worker keeps only a WeakRef and
 *   never writes it. The main thread gives the lease back when nothing it handed out can see the
 *   buffer (see BatchMessage); the buffer is then free again, zeroed before it is reused.
 *   A lease the main thread loses (a result dropped without close) is never given back: the
 *   buffer is simply collected on both sides.
 * A lease id names one use of a buffer, never reused: a late or repeated give-back of an old
 * lease finds nothing and cannot free a buffer that has since been leased again.
 *
 * Garbage: buffers evicted from a full pool or never given back die with their wrappers. Where
 * the addon loads, each buffer is reported to V8 as external memory while its wrapper lives, so
 * that the worker's GC runs as often as these buffers need (see native/src/memory.c).
 */
import { loadNative, type NativeAddon } from '../dialects/sqlite/native.js'

/** Smaller buffers are not pooled: giving them back would cost a message per small result. */
const POOL_MIN_BYTES = 16 * 1024
/**
 * Free buffers kept at most (bytes): more than the main thread gives back at once when it
 * collects batches it handed out (about 16 MB, see src/batch-lease.ts), so that a stream read as
 * Arrow reuses them all instead of allocating while the old ones wait for the worker's GC.
 */
const POOL_MAX_BYTES = 48 * 1024 * 1024

export interface LeasedBuffer {
  buffer: SharedArrayBuffer
  /** 0 when the buffer is not pooled. */
  lease: number
}

/** Bytes to allocate for a batch of `bytes`: some headroom, so that similar batches fit later. */
function capacityFor(bytes: number): number {
  return Math.ceil((bytes + (bytes >> 3)) / 4096) * 4096
}

class BufferPool {
  #nextLease = 1
  readonly #leased = new Map<number, WeakRef<SharedArrayBuffer>>()
  /** Free buffers, oldest first. */
  readonly #free = new Map<SharedArrayBuffer, number>()
  #freeBytes = 0
  /**
   * The addon, looked up at the first pooled allocation, never at import: loading it registers
   * its environment cleanup hook, and hooks run in reverse order, so it must load after
   * better-sqlite3 (whose hook closes the database, which fails while the addon's statements
   * are still open) — as the driver loads it.
   */
  #native: NativeAddon | null | undefined
  /** Unaccounts a collected buffer and forgets its lease; `slot` follows the buffer's current lease. */
  readonly #collected = new FinalizationRegistry<{ bytes: number; lease: number }>((slot) => {
    this.#leased.delete(slot.lease)
    this.#native?.adjustExternalMemory(-slot.bytes)
  })
  readonly #slots = new WeakMap<SharedArrayBuffer, { bytes: number; lease: number }>()

  /** A zeroed buffer of at least `bytes` (and at least 8) for the next batch, leased when pooled. */
  take(bytes: number): LeasedBuffer {
    const size = Math.max(bytes, 8)
    if (size < POOL_MIN_BYTES) return { buffer: new SharedArrayBuffer(size), lease: 0 }
    const buffer = this.#reuse(size) ?? this.#allocate(capacityFor(size))
    const slot = this.#slots.get(buffer) as { bytes: number; lease: number }
    slot.lease = this.#nextLease++
    this.#leased.set(slot.lease, new WeakRef(buffer))
    return { buffer, lease: slot.lease }
  }

  /** The main thread gave these leases back: their buffers are free. */
  release(leases: readonly number[]): void {
    for (const lease of leases) {
      const buffer = this.#leased.get(lease)?.deref()
      this.#leased.delete(lease)
      if (!buffer) continue
      this.#free.set(buffer, buffer.byteLength)
      this.#freeBytes += buffer.byteLength
    }
    // Evict the oldest beyond the caps: they become garbage, collected like any other.
    for (const [buffer, bytes] of this.#free) {
      if (this.#freeBytes <= POOL_MAX_BYTES) break
      this.#free.delete(buffer)
      this.#freeBytes -= bytes
    }
  }

  /** The smallest free buffer that fits `size` without wasting more than half of it. */
  #reuse(size: number): SharedArrayBuffer | null {
    let best: SharedArrayBuffer | null = null
    for (const [buffer, bytes] of this.#free) {
      if (bytes >= size && bytes <= 2 * size + 4096 && (best === null || bytes < best.byteLength)) {
        best = buffer
      }
    }
    if (best === null) return null
    this.#free.delete(best)
    this.#freeBytes -= best.byteLength
    // The main thread has no view of it any more; zero it so no earlier result shows through.
    new Uint8Array(best).fill(0)
    return best
  }

  #allocate(bytes: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(bytes)
    const slot = { bytes, lease: 0 }
    this.#slots.set(buffer, slot)
    this.#collected.register(buffer, slot)
    this.#native ??= loadNative()
    this.#native?.adjustExternalMemory(bytes)
    return buffer
  }
}

/** This worker's pool (module state is per thread). */
export const batchBuffers = new BufferPool()
