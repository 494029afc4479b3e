/**
 * The thread boundary: the one module that defines the shared control block and every message
 * that crosses between the main thread and a worker. Both sides import it; nothing else may
 * invent a field or a message.
 *
 * Transport. Each worker owns one `MessageChannel` and one control block (an Int32Array over a
 * SharedArrayBuffer), and with the ring transport two byte rings (ring-transport.ts). Messages
 * are never *delivered* by the event loop: the receiver pulls them synchronously (from its port
 * with `receiveMessageOnPort`, or from its ring) after a doorbell rings in the control block.
 * Both ways publish a message before its doorbell rings, so it is always there when the receiver
 * sees the doorbell. transport.ts is the one interface both sides use.
 *
 * Bulk data (record batches) never goes through structured clone: it lives in a
 * SharedArrayBuffer that the worker allocates and the message only carries its handle.
 */

import type { MessagePort } from 'node:worker_threads'

/** Index of each Int32 field in the control block. */
export const Ctl = {
  /**
   * Main → worker doorbell. The main thread posts a message, then `Atomics.add`s 1 here and
   * notifies. The worker reads the value, drains its port, and `Atomics.wait`s on the value it
   * read: a ring that lands between its read and its wait makes the wait return at once, so no
   * wake-up is lost. A PostgreSQL session rings its own doorbell once, when it ends itself
   * (`Executor.halt`): the ring only makes its idle wait return.
   */
  doorbell: 0,
  /**
   * Worker → main doorbell: the worker posts replies, then adds 1. The main thread reads it
   * before draining and, after raising `mainWaiting`, reads it again: changed means "drain
   * again", unchanged means the worker's next ring will wake it (see `mainWaiting`). The main
   * thread never waits on it.
   */
  replyBell: 1,
  /**
   * Id of the request whose statement the worker is stepping right now, 0 when none. Written
   * only by the worker (store before the statement starts, store 0 after it stops); with the
   * native addon attached, through the addon under its registry mutex, the same mutex under which
   * the addon checks this field before it interrupts (so an interrupt aimed at request N lands
   * only while N runs: native/src/registry.c). The main thread reads it to decide whether an
   * interrupt could hit the call it means to cancel.
   */
  runningId: 2,
  /**
   * Id of the running request the main thread is interrupting (0: none yet). Written only by
   * the main thread, in `WorkerChannel.interrupt`, after it read `runningId` equal to that id
   * and just before `sqlite3_interrupt`. The worker reads it when a statement fails with
   * SQLITE_INTERRUPT: equal to the failing request's id means "this call was cancelled", any
   * other value means the interrupt was not meant for this request.
   * Cancels of queued calls never write it (they travel as `cancel` messages only).
   */
  cancelId: 3,
  /**
   * 1 while the worker is (about to be) waiting on the doorbell (`Atomics.wait`, or
   * `Atomics.waitAsync` for an asynchronous driver), else 0. Written only by the worker: 1 just
   * before it waits, 0 once it wakes or starts draining. The main thread rings
   * the doorbell first and then calls `Atomics.notify` only if it reads 1, which saves a futex
   * wake whenever the worker is busy or still spinning. No wake-up is lost: both sides use
   * sequentially consistent atomics, so if the main thread reads 0 here, the worker's later
   * store of 1 is followed by a wait that sees the changed doorbell and returns at once.
   */
  sleeping: 4,
  /**
   * 1 once the main thread has decided to end this worker (dispose, close of an unhealthy
   * connection, pool eviction, process exit). Written only by the main thread, before it
   * interrupts the running statement and rings the doorbell. The worker is never terminated
   * from outside while it may be inside better-sqlite3 (better-sqlite3 12 aborts the process
   * when an SQLite call fails while its thread is being terminated): instead it checks this flag
   * between requests and between batches, and then closes its database and exits by itself.
   * The addon's busy handler reads it too, so a writer waiting for a lock gives up at once.
   */
  stopping: 5,
  /**
   * 1 once the worker has closed its database on a stop and is about to exit. Written only by
   * the worker (then notified). The main thread waits on it, with a bound, only while the
   * process exits (the `exit` event cannot await the worker's `exit` event).
   */
  stopped: 6,
  /**
   * 1 while the worker awaits asynchronous work (a `runInWorker` function or an async driver)
   * rather than running a statement synchronously; else 0. Written only by the worker. A stop
   * waits for a statement however long it takes, but gives up on a worker that is still
   * awaiting user code after a grace period (it unrefs it: the worker exits by itself later).
   */
  awaiting: 7,
  /**
   * 1 while the main thread listens for a wake-up, else 0. The main thread stores 1 after a drain
   * (then re-reads `replyBell`) and 0 when it starts draining. The worker, after adding to
   * `replyBell`, swaps 1 for 0 here and, if it did, posts an empty message on the wake port
   * (`WorkerLink.wake`): one wake-up per listen, however many replies follow before the drain.
   * No wake-up is lost: with sequentially consistent atomics, either the worker's swap sees the
   * 1, or the main thread's re-read sees the new bell value and drains again.
   */
  mainWaiting: 8,
} as const

/** Size of the control block in bytes (a multiple of 8 so it can share an allocation). */
export const CONTROL_BLOCK_BYTES = 40

/** Storage class of one column within one batch. */
export enum ColumnKind {
  /** Every value in the batch is NULL and the column has no declared type to fall back on. */
  Null = 0,
  Int = 1,
  Float = 2,
  Text = 3,
  Blob = 4,
  /** Values of several storage classes: a dense union whose children are the five kinds above. */
  Mixed = 5,
  /**
   * A column of one Arrow type named by `ColumnLayout.type` (a server database's typed column).
   * Its buffers follow Arrow's IPC layout for that type; a List's child is `children[0]`.
   */
  Arrow = 6,
}

/**
 * An Arrow data type as plain data, so it can cross the thread boundary (Arrow's own DataType
 * objects do not survive structured clone). `hint` tells the row decoder how the database's
 * client library would show the value (e.g. json text is parsed into an object).
 */
export type ArrowTypeDesc =
  | { id: 'bool' }
  | { id: 'int'; bits: 16 | 32 | 64 }
  /** Unsigned 32-bit integers (PostgreSQL's oid), numbers in rows whatever the intMode. */
  | { id: 'uint32' }
  | { id: 'float'; bits: 32 | 64 }
  | { id: 'utf8'; hint?: 'json' | 'time' }
  | { id: 'binary' }
  /** 128-bit two's complement little-endian unscaled values. */
  | { id: 'decimal'; precision: number; scale: number }
  /** Days since 1970-01-01 as Int32. */
  | { id: 'date32' }
  /** Microseconds since 1970-01-01 as Int64; `tz` null for a local ("without time zone") time. */
  | { id: 'timestamp'; tz: string | null }
  /** Microseconds since midnight as Int64. */
  | { id: 'time64' }
  /** Arrow's MonthDayNano interval: Int32 months, Int32 days, Int64 nanoseconds per value. */
  | { id: 'interval' }
  | { id: 'list'; child: ArrowTypeDesc }

/**
 * Where one column's Arrow buffers live inside the batch's SharedArrayBuffer. Offsets are byte
 * offsets, each a multiple of 8 so that typed-array views are aligned. `-1` means "absent".
 *
 * - Int / Float: `values` holds `length` 8-byte values.
 * - Text / Blob: `offsets` holds `length + 1` Int32 offsets into `values` (UTF-8 / raw bytes).
 * - Mixed: `typeIds` holds `length` Int8 kind codes (a `ColumnKind` below Mixed), `offsets`
 *   holds `length` Int32 indexes into the child of that kind; `children[k]` is the child of kind
 *   `k` (a Null child carries the NULLs).
 */
export interface ColumnLayout {
  kind: ColumnKind
  length: number
  nullCount: number
  validity: number
  offsets: number
  values: number
  valuesBytes: number
  typeIds: number
  children: ColumnLayout[] | null
  /** The column's Arrow type, for `ColumnKind.Arrow` only. */
  type?: ArrowTypeDesc
}

/**
 * One record batch: a buffer the worker wrote, and its layout.
 *
 * Ownership: once posted, the buffer is the main thread's. The worker writes it again only after
 * the main thread gives `lease` back (in `credit.release` or `release`), which it does only when
 * nothing it handed out can still see the buffer: rows are copies, so a batch read as rows goes
 * back once decoded; a batch handed out as Arrow goes back only when the garbage collector has
 * proved every view of it unreachable. A lease is good for one use of the buffer: giving back a
 * stale lease does nothing. `lease` 0: a buffer the worker does not pool (small), never given back.
 * A pooled batch is one region of a larger buffer (the worker carves several batches out of one
 * buffer, see src/worker/buffer-pool.ts): the layout's offsets are from the buffer's start, and
 * `bytes` is the size of the batch's own region.
 */
export interface BatchMessage {
  buffer: SharedArrayBuffer
  /** Bytes of `buffer` that belong to this batch (what it keeps alive while it is held). */
  bytes: number
  lease: number
  numRows: number
  columns: ColumnLayout[]
}

/** A plain copy of an error thrown in the worker. */
export interface SerializedError {
  name: string
  message: string
  code?: string
  stack?: string
  /** Server-reported fields of a database error (PostgreSQL: detail, constraint, position...). */
  fields?: Record<string, string | number>
}

/** Requests, main → worker. `id` is unique per worker; replies carry it back. */
export type Request =
  | {
      op: 'execute'
      id: number
      sql: string
      params: BoundParams
      batchRows: number
      prefetchBatches: number
    }
  | { op: 'exec'; id: number; sql: string }
  | { op: 'executeMany'; id: number; sql: string; paramsList: BoundParams[] | PackedParams }
  /**
   * `executeMany` over Arrow data: `ipc[0, byteLength)` is an Arrow IPC stream (written once by
   * the main thread, then only read); each row is one parameter set, bound by column position, or
   * by column name when `byName`.
   */
  | {
      op: 'executeArrow'
      id: number
      sql: string
      ipc: SharedArrayBuffer
      byteLength: number
      byName: boolean
    }
  | { op: 'runInWorker'; id: number; module: string; exportName: string; args: unknown[] }
  /** Roll back any open transaction and drop any open result: used before pooling a worker. */
  | { op: 'reset'; id: number }
  /**
   * The main thread has consumed `batches` more batches of result `id`, and gives back the
   * buffers of `release` (leases of batches it has finished with, of any result).
   */
  | { op: 'credit'; id: number; batches: number; release?: number[] }
  /**
   * Gives back batch buffers (leases) when no credit message is going out to carry them. It
   * answers no request and expects no reply (id 0).
   */
  | { op: 'release'; id: 0; leases: number[] }
  /** Discard the rest of result `id`. */
  | { op: 'closeResult'; id: number }
  /** Stop request `id` if it has not finished; it then rejects with an abort. */
  | { op: 'cancel'; id: number }

/** A statement's parameters after validation on the main thread. */
export type BoundParams = BoundValue[] | Record<string, BoundValue>

/** `count` parameter sets packed as bytes in `buffer` (thread/packed-params.ts). */
export interface PackedParams {
  buffer: SharedArrayBuffer
  count: number
}
export type BoundValue = null | number | bigint | string | Uint8Array

/** Replies, worker → main. */
export type Reply =
  | {
      kind: 'ready'
      id: 0
      /**
       * Present when the worker steps statements through the native addon: its connection's id
       * in the addon's interrupt registry, for `WorkerChannel.interrupt`.
       */
      nativeId?: number
      /** The server process serving this worker's connection (PostgreSQL). */
      backendPid?: number
    }
  | {
      kind: 'started'
      id: number
      returnsRows: boolean
      columns: string[]
      rowcount: number
      lastInsertRowid: bigint
      inTransaction: boolean
      /** The first batch, when the statement returns rows. */
      batch: BatchMessage | null
      /** True when no further batch will follow. */
      done: boolean
    }
  | { kind: 'batch'; id: number; batch: BatchMessage; done: boolean }
  /** A result stream ended without another batch (after a cancel, or on an empty tail). */
  | { kind: 'end'; id: number }
  | { kind: 'ok'; id: number; value: unknown; inTransaction: boolean }
  | { kind: 'error'; id: number; error: SerializedError; inTransaction: boolean }

/**
 * What the main thread passes to one session of a worker, tagged by dialect: a SQLite worker
 * gets it as its `workerData` (one connection per thread), a PostgreSQL session in an `open`
 * message of its shared thread (see `SharedThreadMessage`).
 */
export type WorkerInit = SqliteWorkerInit | PostgresWorkerInit

/**
 * The `workerData` of a shared thread: a worker serving several PostgreSQL connections, whose
 * I/O is asynchronous, each with its own control block, rings and ports (thread/threads.ts).
 * Its sessions idle on `Atomics.waitAsync` and never spin, so it needs no spinner count.
 */
export interface SharedThreadInit {
  shared: true
}

/**
 * Between the main thread and a shared thread, on the thread's own port (`parentPort`):
 * `open` starts session `key` (its ports transferred with the message), `close` ends a thread
 * that serves no session any more; the thread answers `ended` once session `key` has closed its
 * connection, with `code` as a thread's exit code would be (0: asked to stop, 3: the server
 * connection was lost).
 */
export type SharedThreadMessage =
  | { kind: 'open'; key: number; init: PostgresWorkerInit }
  | { kind: 'close' }
  | { kind: 'ended'; key: number; code: number }

/** `Omit` applied to each member of a union separately. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** How a worker talks to the main thread; both dialects' inits carry it. */
export interface WorkerLink {
  control: SharedArrayBuffer
  port: MessagePort
  /**
   * The worker posts an empty message here after ringing `replyBell` while the main thread
   * listens (`mainWaiting`): the main thread's wake-up (transport.ts, `ring`).
   */
  wake: MessagePort
  /** The ring transport's two rings (ring-transport.ts), or null for the port alone. */
  rings: SharedArrayBuffer | null
  /** How many of the process's workers spin before sleeping (transport.ts, `spinFor`). */
  spinners: SharedArrayBuffer
}

export interface PostgresWorkerInit extends WorkerLink {
  dialect: 'postgresql'
  /** Connection string for `pg` (the engine URL with its scheme normalised). */
  connectionString: string
  setup: string | null
}

export interface SqliteWorkerInit extends WorkerLink {
  dialect: 'sqlite'
  filename: string
  readonly: boolean
  fileMustExist: boolean
  busyTimeoutMs: number
  /** Pragmas that make a shared in-memory database (a RAM-backed file) fast and safe to share. */
  memory: boolean
  setup: string | null
  /** Whether to attach the native addon ('require': fail start-up if it cannot). Default 'off'. */
  native?: 'auto' | 'off' | 'require'
}
