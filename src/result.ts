/**
 * AsyncResult: the rows of one statement, arriving as record batches in shared memory.
 *
 * Flow control. The worker may run `prefetchBatches` batches ahead of the reader (the first
 * batch comes with the 'started' reply). Each batch the reader takes off the queue returns one
 * credit to the worker. `#owed` counts the batches the worker may still send without hearing
 * from us; while it is positive the channel is held, so a process awaiting rows stays alive and
 * one that abandoned a result does not.
 */
import { type RecordBatch, Schema, Table, type Vector } from 'apache-arrow'
import { toRecordBatch } from './arrow/batch-data.js'
import { type IntMode, type Row, RowDecoder, type RowMode } from './arrow/row-decoder.js'
import { unifyBatches } from './arrow/unify.js'
import { AbortError, ClosedError, ResultError, reviveError } from './errors.js'
import type { WorkerChannel } from './thread/channel.js'
import type { BatchMessage, Reply } from './thread/protocol.js'

/** Rows decoded per slice by fetchall(); the event loop runs between slices. */
const ROWS_PER_SLICE = 8192

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export interface ResultInit {
  channel: WorkerChannel
  id: number
  reply: Extract<Reply, { kind: 'started' }>
  intMode: IntMode
  rowMode: RowMode
  prefetchBatches: number
  sql: string
  onClose: (result: AsyncResult) => void
}

/** The part of a batch not yet handed to the reader. */
interface OpenBatch {
  message: BatchMessage
  decoder: RowDecoder
  /** Decoded rows not yet returned, or null before decoding. */
  rows: Row[] | null
  /** Index of the next unread row. */
  next: number
}

/**
 * The result of `execute()`. Read it row by row (`fetchone`, `fetchmany`, `for await`), all at
 * once (`fetchall`), or as Arrow data (`batches()`, `toArrow()`, `column()`), zero-copy.
 *
 * @example
 * ```ts
 * const result = await engine.execute('SELECT id, name FROM users WHERE name LIKE ?', ['D%'])
 * for await (const user of result) console.log(user.name)
 *
 * const table = await (await engine.execute('SELECT * FROM events')).toArrow()
 * ```
 */
export class AsyncResult implements AsyncIterable<Row> {
  /** Whether the statement returns rows (a query, or DML with RETURNING). */
  readonly returnsRows: boolean
  /** Rows changed by INSERT/UPDATE/DELETE; -1 for statements that return rows. */
  readonly rowcount: number
  /** Rowid of the last inserted row (as of this statement), per the engine's intMode. */
  readonly lastInsertRowid: number | bigint

  readonly #channel: WorkerChannel
  readonly #id: number
  readonly #names: string[]
  readonly #intMode: IntMode
  readonly #rowMode: RowMode
  readonly #sql: string
  readonly #onClose: (result: AsyncResult) => void
  readonly #queue: BatchMessage[] = []
  #open: OpenBatch | null = null
  #schema: Schema | null = null
  /** No batch will arrive any more (the worker finished, failed, or we closed). */
  #done: boolean
  #closed = false
  #failure: Error | null = null
  #owed: number
  #held = false
  /** Readers waiting for the next batch, the end, or a failure. */
  #waiters: (() => void)[] = []

  constructor(init: ResultInit) {
    const { reply } = init
    this.#channel = init.channel
    this.#id = init.id
    this.#names = reply.columns
    this.#intMode = init.intMode
    this.#rowMode = init.rowMode
    this.#sql = init.sql
    this.#onClose = init.onClose
    this.returnsRows = reply.returnsRows
    this.rowcount = reply.rowcount
    this.lastInsertRowid = init.intMode === 'bigint' ? reply.lastInsertRowid : Number(reply.lastInsertRowid)
    if (reply.batch) {
      this.#schema = toRecordBatch(this.#names, reply.batch).schema
      if (reply.batch.numRows > 0) this.#queue.push(reply.batch)
    }
    this.#done = reply.done
    this.#owed = reply.done ? 0 : init.prefetchBatches - 1
    this.#updateHold()
  }

  /** Whether `close()` was called, or every row was read by a method that closes. */
  get closed(): boolean {
    return this.#closed
  }

  /** Column names, in order (empty for a statement that returns no rows). */
  keys(): string[] {
    return [...this.#names]
  }

  /** The Arrow schema of the rows (types as in the first batch). */
  get schema(): Schema {
    return this.#schema ?? new Schema([])
  }

  /** Handles a reply for this result's id; returns true once no more will come. */
  onReply(reply: Reply): boolean {
    if (reply.kind === 'batch') {
      this.#owed--
      if (!this.#closed) this.#queue.push(reply.batch)
      if (reply.done) this.#done = true
    } else if (reply.kind === 'error') {
      this.#failure = reviveError(reply.error, this.#sql)
      this.#done = true
    } else {
      this.#done = true
    }
    this.#updateHold()
    this.#signal()
    return this.#done
  }

  onFailure(error: Error): void {
    this.#failure ??= error
    this.#done = true
    this.#updateHold()
    this.#signal()
  }

  /** Fails every further read with an AbortError (used when the call's signal fires). */
  abort(reason: unknown): void {
    if (this.#closed) return
    this.#failure = new AbortError(reason)
    this.#discard()
    this.#signal()
  }

  #signal(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  #updateHold(): void {
    const want = !this.#done && !this.#closed && this.#owed > 0
    if (want === this.#held) return
    this.#held = want
    if (want) this.#channel.hold()
    else this.#channel.release()
  }

  #check(): void {
    if (this.#failure instanceof AbortError) throw this.#failure
    if (this.#closed) throw new ClosedError('This result is closed')
    if (!this.returnsRows) {
      throw new ResultError(
        'This result does not return rows (the statement returned none)',
        'ERR_SQLAIO_NO_ROWS_RETURNED',
      )
    }
  }

  /** The next unread batch off the queue, waiting for the worker if needed; null at the end. */
  async #takeBatch(): Promise<BatchMessage | null> {
    for (;;) {
      this.#check()
      const batch = this.#queue.shift()
      if (batch) {
        if (!this.#done) {
          this.#owed++
          this.#channel.send({ op: 'credit', id: this.#id, batches: 1 })
          this.#updateHold()
        }
        return batch
      }
      if (this.#failure) throw this.#failure
      if (this.#done) return null
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  /** The batch rows are being read from, with at least one unread row; null at the end. */
  async #openBatch(): Promise<OpenBatch | null> {
    this.#check()
    const open = this.#open
    if (open && open.next < open.message.numRows) return open
    const message = await this.#takeBatch()
    if (!message) {
      this.#open = null
      return null
    }
    this.#open = {
      message,
      decoder: new RowDecoder(message, this.#names, this.#intMode, this.#rowMode),
      rows: null,
      next: 0,
    }
    return this.#open
  }

  /** Takes up to `max` rows from the open batch. */
  #readRows(open: OpenBatch, max: number): Row[] {
    if (!open.rows) open.rows = open.decoder.rows(0, open.message.numRows)
    const end = Math.min(open.next + max, open.rows.length)
    const rows = open.rows.slice(open.next, end)
    open.next = end
    return rows
  }

  /** The next row, or null when there are no more. */
  async fetchone(): Promise<Row | null> {
    const open = await this.#openBatch()
    return open ? (this.#readRows(open, 1)[0] ?? null) : null
  }

  /** Up to `size` more rows (default 1, DB-API's arraysize). */
  async fetchmany(size = 1): Promise<Row[]> {
    if (!Number.isInteger(size) || size < 0) {
      throw new RangeError(`fetchmany: size must be a non-negative integer, got ${size}`)
    }
    const rows: Row[] = []
    while (rows.length < size) {
      const open = await this.#openBatch()
      if (!open) break
      for (const row of this.#readRows(open, size - rows.length)) rows.push(row)
    }
    return rows
  }

  /** Every remaining row. Decodes in slices and lets the event loop run between them. */
  async fetchall(): Promise<Row[]> {
    const all: Row[] = []
    for (;;) {
      const open = await this.#openBatch()
      if (!open) break
      if (open.rows) {
        for (const row of this.#readRows(open, Number.POSITIVE_INFINITY)) all.push(row)
        continue
      }
      const total = open.message.numRows
      for (let from = open.next; from < total; from += ROWS_PER_SLICE) {
        const to = Math.min(from + ROWS_PER_SLICE, total)
        for (const row of open.decoder.rows(from, to)) all.push(row)
        open.next = to
        if (to < total) await yieldToEventLoop()
      }
    }
    return all
  }

  /** The first row (or null), then closes the result. */
  async first(): Promise<Row | null> {
    try {
      return await this.fetchone()
    } finally {
      this.close()
    }
  }

  /** The first column of the first row (or null), then closes the result. */
  async scalar(): Promise<unknown> {
    const row = await this.first()
    if (row === null) return null
    return Array.isArray(row) ? row[0] : row[this.#names[0] as string]
  }

  /** The first column of every remaining row. */
  async scalars(): Promise<unknown[]> {
    const rows = await this.fetchall()
    const key = this.#names[0] as string
    return rows.map((row) => (Array.isArray(row) ? row[0] : row[key]))
  }

  /** Exactly one row: rejects with a ResultError when there are none or several. Closes. */
  async one(): Promise<Row> {
    try {
      const rows = await this.fetchmany(2)
      if (rows.length === 0)
        throw new ResultError('one(): the query returned no rows', 'ERR_SQLAIO_NO_RESULT')
      if (rows.length > 1) {
        throw new ResultError('one(): the query returned more than one row', 'ERR_SQLAIO_MULTIPLE_RESULTS')
      }
      return rows[0] as Row
    } finally {
      this.close()
    }
  }

  /** Iterates the remaining rows, a batch at a time. */
  async *[Symbol.asyncIterator](): AsyncIterator<Row> {
    for (;;) {
      const open = await this.#openBatch()
      if (!open) return
      yield* this.#readRows(open, Number.POSITIVE_INFINITY)
    }
  }

  /**
   * The remaining rows as Arrow record batches, zero-copy over shared memory. A batch stays
   * valid and unchanged for as long as it is held, even after the result is closed.
   */
  async *batches(): AsyncGenerator<RecordBatch> {
    for (;;) {
      this.#check()
      const open = this.#open
      if (open && open.next < open.message.numRows) {
        const batch = toRecordBatch(this.#names, open.message)
        this.#open = null
        yield open.next === 0 ? batch : batch.slice(open.next)
        continue
      }
      const message = await this.#takeBatch()
      if (!message) return
      yield toRecordBatch(this.#names, message)
    }
  }

  /** The remaining rows as one Arrow Table (zero-copy unless storage classes must be unified). */
  async toArrow(): Promise<Table> {
    const batches: RecordBatch[] = []
    for await (const batch of this.batches()) batches.push(batch)
    if (batches.length === 0) return new Table(this.schema)
    return new Table(unifyBatches(batches))
  }

  /** The remaining rows of one column as an Arrow Vector. */
  async column(name: string): Promise<Vector> {
    this.#check()
    if (!this.#names.includes(name)) {
      throw new RangeError(`column(): no column named "${name}" (columns: ${this.#names.join(', ')})`)
    }
    const vector = (await this.toArrow()).getChild(name)
    if (!vector) throw new RangeError(`column(): no column named "${name}"`)
    return vector
  }

  /** Discards the remaining rows and lets the worker stop producing them. */
  close(): void {
    if (this.#closed) return
    this.#discard()
  }

  #discard(): void {
    this.#closed = true
    this.#queue.length = 0
    this.#open = null
    if (!this.#done) {
      this.#done = true
      this.#channel.forget(this.#id)
      this.#channel.send({ op: 'closeResult', id: this.#id })
    }
    this.#updateHold()
    this.#signal()
    this.#onClose(this)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close()
  }
}
