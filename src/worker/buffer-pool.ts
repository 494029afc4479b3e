/**
 * The worker's batch buffers: regions of SharedArrayBuffers ("arenas") that the main thread gives
 * back once it is done with them, reused for later batches so that streaming a long result
 * allocates (almost) nothing.
 *
 * Why arenas. Every batch is written once, right after its memory is found, and fresh memory
 * costs a page fault per 4 KB page on first touch: several microseconds each on a virtual
 * machine (measured here: a 1M-row `toArrow()`, whose batches are all kept, spent a third of its
 * time in the kernel). Batches are carved out of arenas of ARENA_BYTES instead, allocated with
 * 2 MB of slack and used from their first 2 MB boundary, which the kernel is asked to back with
 * transparent huge pages (one fault per 2 MB; see native/src/memory.c). A batch smaller than
 * POOL_MIN_BYTES is not pooled at all; one larger than half an arena gets an arena of its own.
 *
 * Why pooled. V8 counts no SharedArrayBuffer toward any isolate's heap, and a buffer lives until
 * every thread has collected its wrapper. On the native path the worker allocates so little JS
 * that it almost never collects, so each batch it posted stayed alive: memory grew with the row
 * count.
 *
 * Ownership of a region, one state at a time:
 * - free: not part of any batch the main thread may read (an arena's bytes past `used`, or a
 *   whole arena in `#free`).
 * - leased: posted to the main thread under a lease id, inside an arena whose `live` counts such
 *   regions. The worker never writes it. The main thread gives the lease back when nothing it
 *   handed out can see the region (see BatchMessage). An arena whose regions have all come back
 *   starts over from its beginning; regions are zeroed before they are reused.
 * A lease id names one use of a region, never reused: a late or repeated give-back of an old
 * lease finds nothing and cannot free a region that has since been leased again.
 *
 * Garbage: the pool holds its current arena and its free ones; an arena with leased regions that
 * is neither is held only weakly, so if the main thread loses a lease (a result dropped without
 * close) the arena is simply collected on both sides. Free arenas beyond POOL_MAX_BYTES are
 * dropped. Where the addon loads, each arena is reported to V8 as external memory while its
 * wrapper lives, so that the worker's GC runs as often as these buffers need.
 */
import { loadNative, type NativeAddon } from '../dialects/sqlite/native.js'

/** Smaller batches are not pooled: giving them back would cost a message per small result. */
const POOL_MIN_BYTES = 16 * 1024
/** Bytes of an arena (from its first huge-page boundary). */
const ARENA_BYTES = 8 * 1024 * 1024
/** A transparent huge page, and the slack an arena is allocated with to start on one. */
const HUGE_PAGE = 2 * 1024 * 1024
/**
 * Free arenas kept at most (bytes): more than the main thread gives back at once when it
 * collects batches it handed out (about 16 MB, see src/batch-lease.ts), so that a stream read as
 * Arrow reuses them all instead of allocating while the old ones wait for the worker's GC.
 */
const POOL_MAX_BYTES = 48 * 1024 * 1024
/** Regions start on this boundary (Arrow buffers want 8; 64 keeps them on cache lines). */
const REGION_ALIGN = 64

export interface LeasedRegion {
  buffer: SharedArrayBuffer
  /** Where the region starts in `buffer`. */
  offset: number
  /** 0 when the region is not pooled (a buffer of its own). */
  lease: number
}

class Arena {
  readonly buffer: SharedArrayBuffer
  /** The usable bytes: [start, end) of `buffer`. */
  readonly start: number
  readonly end: number
  /** Next free byte. */
  used: number
  /** Bytes up to here may hold an earlier batch's data: zeroed before reuse. */
  dirty: number
  /** Regions leased and not given back. */
  live = 0
  /** Their lease ids (shared with the finalizer, which must not hold the arena). */
  readonly leases = new Set<number>()

  constructor(buffer: SharedArrayBuffer, start: number, end: number) {
    this.buffer = buffer
    this.start = start
    this.end = end
    this.used = start
    this.dirty = start
  }

  fits(bytes: number): boolean {
    return this.used + bytes <= this.end
  }

  /** Carves `bytes` (zeroed) off the free end. */
  carve(bytes: number): number {
    const offset = this.used
    this.used = Math.min(this.end, offset + Math.ceil(bytes / REGION_ALIGN) * REGION_ALIGN)
    if (offset < this.dirty)
      new Uint8Array(this.buffer, offset, Math.min(this.used, this.dirty) - offset).fill(0)
    this.dirty = Math.max(this.dirty, this.used)
    this.live++
    return offset
  }

  get capacity(): number {
    return this.end - this.start
  }
}

class BufferPool {
  #nextLease = 1
  /** Leased regions' arenas, by lease id; weak, see the header. */
  readonly #leased = new Map<number, WeakRef<Arena>>()
  /** The arena batches are carved from. */
  #current: Arena | null = null
  /** Arenas with nothing leased, oldest first. */
  readonly #free = new Set<Arena>()
  #freeBytes = 0
  /**
   * The addon, looked up at the first pooled allocation, never at import: loading it registers
   * its environment cleanup hook, and hooks run in reverse order, so it must load after
   * better-sqlite3 (whose hook closes the database, which fails while the addon's statements
   * are still open) — as the driver loads it.
   */
  #native: NativeAddon | null | undefined
  /** Unaccounts a collected arena and forgets its leases. */
  readonly #collected = new FinalizationRegistry<{ bytes: number; leases: Set<number> }>((held) => {
    for (const lease of held.leases) this.#leased.delete(lease)
    this.#native?.adjustExternalMemory(-held.bytes)
  })

  /** A zeroed region of at least `bytes` (and at least 8) for the next batch, leased when pooled. */
  take(bytes: number): LeasedRegion {
    const size = Math.max(bytes, 8)
    if (size < POOL_MIN_BYTES) return { buffer: new SharedArrayBuffer(size), offset: 0, lease: 0 }
    const arena = this.#arenaFor(size)
    const offset = arena.carve(size)
    const lease = this.#nextLease++
    arena.leases.add(lease)
    this.#leased.set(lease, new WeakRef(arena))
    return { buffer: arena.buffer, offset, lease }
  }

  /** The main thread gave these leases back: their regions are free. */
  release(leases: readonly number[]): void {
    for (const lease of leases) {
      const arena = this.#leased.get(lease)?.deref()
      this.#leased.delete(lease)
      if (!arena?.leases.delete(lease)) continue
      if (--arena.live > 0) continue
      arena.used = arena.start
      if (arena !== this.#current) this.#retire(arena)
    }
  }

  /** An arena with `size` bytes free: the current one, a free one, or a new one. */
  #arenaFor(size: number): Arena {
    const current = this.#current
    if (current?.fits(size)) return current
    // The current arena is full: it stays alive through its leases (weakly) and comes back to
    // the free list when they have all been given back.
    if (current && current.live === 0) this.#retire(current)
    const arena = this.#reuse(size) ?? this.#allocate(Math.max(size, ARENA_BYTES))
    // A batch too big to share an arena gets one of its own, and the current one stays.
    if (size <= ARENA_BYTES / 2 || !current) this.#current = arena
    else if (current.live === 0) this.#current = null
    return arena
  }

  #retire(arena: Arena): void {
    if (this.#free.has(arena)) return
    this.#free.add(arena)
    this.#freeBytes += arena.capacity
    // Drop the oldest beyond the cap: they become garbage, collected like any other.
    for (const old of this.#free) {
      if (this.#freeBytes <= POOL_MAX_BYTES) break
      this.#free.delete(old)
      this.#freeBytes -= old.capacity
    }
  }

  /** The smallest free arena that fits `size` without wasting more than half of it. */
  #reuse(size: number): Arena | null {
    let best: Arena | null = null
    for (const arena of this.#free) {
      const fits =
        arena.capacity >= size && (arena.capacity <= 2 * size + HUGE_PAGE || arena.capacity === ARENA_BYTES)
      if (fits && (best === null || arena.capacity < best.capacity)) best = arena
    }
    if (best === null) return null
    this.#free.delete(best)
    this.#freeBytes -= best.capacity
    return best
  }

  /**
   * A new arena of `bytes` usable bytes (rounded up to whole huge pages), starting on a huge-page
   * boundary where the addon can ask for huge pages.
   */
  #allocate(bytes: number): Arena {
    const usable = Math.ceil(bytes / HUGE_PAGE) * HUGE_PAGE
    this.#native ??= loadNative()
    const native = this.#native
    const buffer = new SharedArrayBuffer(native ? usable + HUGE_PAGE : usable)
    const start = native ? native.adviseHugePages(new Uint8Array(buffer), usable) : -1
    const arena =
      start >= 0 ? new Arena(buffer, start, start + usable) : new Arena(buffer, 0, buffer.byteLength)
    this.#collected.register(buffer, { bytes: buffer.byteLength, leases: arena.leases })
    native?.adjustExternalMemory(buffer.byteLength)
    return arena
  }
}

/** This worker's pool (module state is per thread). */
export const batchBuffers = new BufferPool()
