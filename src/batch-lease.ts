/**
 * The main thread's half of batch buffer ownership (the worker's half is
 * src/worker/buffer-pool.ts). A batch the worker posted is either read as rows or handed out as
 * Arrow data, never both, and its buffer goes back to the worker accordingly:
 *
 * - Read as rows: rows are copies (strings, numbers, copied Buffers), so once a batch is decoded
 *   nothing the user holds can see its buffer. ResultStream gives its lease back at once.
 * - Handed out as Arrow (a RecordBatch, and the Tables and Vectors made of it): only the garbage
 *   collector knows when the user is done. Every view of the batch references the buffer's
 *   wrapper on this thread, so when that wrapper is collected nothing can see the buffer: the
 *   finalizer below gives the lease back then. Until then the worker never touches it.
 *
 * V8 counts SharedArrayBuffers toward no heap, so a program streaming batches and dropping them
 * allocates almost nothing V8 can see and would rarely collect them. Each handed-out buffer is
 * therefore reported to V8 as external memory while its wrapper lives (when the addon loads;
 * without it, collection follows V8's own schedule). V8 starts a collection each time reported
 * memory grows by 64 MB (and marks in steps inside the reporting call while one is under way).
 * How much is reported depends on how the batches are taken:
 *
 * - `'stream'` (`batches()`): the user typically drops each batch before taking the next, so
 *   buffers are reported at four times their size: dropped batches are collected, and their
 *   buffers reused, after about 16 MB, which keeps a stream's memory flat and lets the worker's
 *   pool absorb each wave of returned buffers.
 * - `'gather'` (`toArrow()`, `column()`): every batch is kept until the Table is built, so no
 *   collection during the query can free any of them; overstating them would only make the main
 *   thread collect (and stall) several times per query for nothing. They are reported at their
 *   size, so that V8 still knows what a dropped Table holds.
 */
import { loadNative } from './dialects/sqlite/native.js'
import type { WorkerChannel } from './thread/channel.js'
import type { BatchMessage } from './thread/protocol.js'

/** How a reader takes the batches it hands out; see above. */
export type HandOutMode = 'stream' | 'gather'

const REPORT_FACTOR: Record<HandOutMode, number> = { stream: 4, gather: 1 }

interface HandedOut {
  channel: WorkerChannel
  lease: number
  /** As reported to V8. */
  bytes: number
}

/** Runs after the buffer's wrapper was collected: no view of it is left on this thread. */
const collected = new FinalizationRegistry<HandedOut>(({ channel, lease, bytes }) => {
  loadNative()?.adjustExternalMemory(-bytes)
  // A channel that has failed sends nothing: its worker, and the pool, are gone.
  if (lease !== 0) channel.send({ op: 'release', id: 0, leases: [lease] })
})

/** Call before `batch` becomes visible as Arrow data: its buffer returns when collected. */
export function handOut(channel: WorkerChannel, batch: BatchMessage, mode: HandOutMode): void {
  const bytes = batch.bytes * REPORT_FACTOR[mode]
  loadNative()?.adjustExternalMemory(bytes)
  collected.register(batch.buffer, { channel, lease: batch.lease, bytes })
}
