/**
 * AsyncResult: the rows of one statement, arriving as record batches in shared memory.
 */
import { type RecordBatch, Schema, Table, type Vector } from 'apache-arrow'
import { schemaOf, toRecordBatch } from './arrow/batch-data.js'
import { type IntMode, type Row, RowDecoder, type RowMode } from './arrow/row-decoder.js'
import { unifyBatches } from './arrow/unify.js'
import type { HandOutMode } from './batch-lease.js'
import { Cancel, type CancelOptions } from './cancel.js'
import { type AbortError, type CallSite, describeSite, ResultError } from './errors.js'
import * as io from './io/index.js'
import type { ResultStream } from './result-stream.js'
import type { BatchMessage, ColumnLayout, Reply } from './thread/protocol.js'

/** Rows fetchall() decodes between two looks at the clock. */
const ROWS_PER_SLICE = 1024
/** How long fetchall() may keep the main thread before it lets the event loop run, in ms. */
const BUSY_MS = 4

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Rows [from, to) of a batch, or the rows before the first one that cannot be decoded (an
 * integer beyond 2^53 in intMode 'number'). Such a row fails the read that reaches it, as
 * better-sqlite3's does, but not a read of the rows before it, which a slice decoded at once
 * would make fail too. When the first row itself fails, its error is thrown.
 */
function decodeUpToError(decoder: RowDecoder, from: number, to: number): Row[] {
  try {
    return decoder.rows(from, to)
  } catch (error) {
    if (!(error instanceof RangeError) || to - from === 1) throw error
    const rows: Row[] = []
    for (let i = from; i < to; i++) {
      try {
        rows.push(decoder.rows(i, i + 1)[0] as Row)
      } catch (rowError) {
        if (rows.length === 0) throw rowError
        break
      }
    }
    return rows
  }
}

/**
 * Results dropped without close() are closed when collected, so their worker stops producing
 * and the connection is not left streaming rows nobody can read.
 */
const dropped = new FinalizationRegistry<{ stream: ResultStream; site: CallSite }>(({ stream, site }) => {
  if (stream.closed) return
  process.emitWarning(
    `An AsyncResult was garbage-collected without close(); it was opened ${describeSite(site)}`,
    {
      code: 'SQLAIO_RESULT_LEAK',
    },
  )
  stream.close()
})

export interface ResultInit {
  reply: Extract<Reply, { kind: 'started' }>
  stream: ResultStream | null
  intMode: IntMode
  rowMode: RowMode
}

/** The part of a batch not yet handed to the reader. */
/** Rejects `scalar()`/`scalars()` of rows without columns (PostgreSQL's `SELECT`). */
function checkHasColumns(open: OpenBatch, method: string): void {
  if (open.message.columns.length === 0) {
    throw new ResultError(`${method}(): the result's rows have no columns`, 'ERR_SQLAIO_NO_COLUMNS')
  }
}

interface OpenBatch {
  message: BatchMessage
  decoder: RowDecoder
  /** The slice of rows decoded last (at most ROWS_PER_SLICE): batch rows [rowsFrom, rowsFrom + rows.length). */
  rows: Row[]
  rowsFrom: number
  /** Index (in the batch) of the next unread row. */
  next: number
}

/**
 * The result of `execute()`. Read it row by row (`fetchone`, `fetchmany`, `for await`), all at
 * once (`fetchall`), or as Arrow data (`batches()`, `toArrow()`, `column()`), zero-copy. Every
 * read method accepts `{ signal, timeoutMs }`; a cancelled read closes the result.
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
  /**
   * Rowid of the last inserted row (as of this statement): a bigint in 'bigint' mode; a number
   * in 'number' mode, except a rowid beyond ±(2^53−1), which stays a bigint (never rounded).
   */
  readonly lastInsertRowid: number | bigint

  /** Null for a statement that returns no rows. */
  readonly #stream: ResultStream | null
  readonly #names: string[]
  readonly #intMode: IntMode
  readonly #rowMode: RowMode
  /**
   * The first batch's layout, kept only to build `schema` on demand (Arrow types cost time to
   * make). The layout, not the batch: its buffer may go back to the worker.
   */
  readonly #firstColumns: ColumnLayout[] | null
  #schema: Schema | null = null
  #open: OpenBatch | null = null
  /** Rows were still to come when the result was made (its first reply was not the last). */
  readonly #streaming: boolean

  /** @internal Results come from `execute()`. */
  constructor(init: ResultInit) {
    const { reply } = init
    this.#stream = init.stream
    this.#names = reply.columns
    this.#intMode = init.intMode
    this.#rowMode = init.rowMode
    this.returnsRows = reply.returnsRows
    this.rowcount = reply.rowcount
    const rowid = reply.lastInsertRowid
    // In 'number' mode a rowid beyond 2^53 stays a bigint rather than become a rounded number.
    const safe = rowid <= BigInt(Number.MAX_SAFE_INTEGER) && rowid >= BigInt(Number.MIN_SAFE_INTEGER)
    this.lastInsertRowid = init.intMode === 'bigint' || !safe ? rowid : Number(rowid)
    this.#firstColumns = reply.batch?.columns ?? null
    this.#streaming = init.stream !== null && !reply.done
  }

  /**
   * @internal Closes the stream, with a warning naming where it was opened, if this result is
   * garbage-collected while its rows still stream. `site` is asked for only then (a stack costs
   * microseconds; most small results have ended by the time they are returned).
   */
  watchForLeak(site: () => CallSite): void {
    const stream = this.#stream
    if (!stream || !this.#streaming || stream.closed) return
    dropped.register(this, { stream, site: site() }, stream)
    // Captures the stream only: the stream must not keep this result reachable.
    stream.onClose(() => dropped.unregister(stream))
  }

  /** Whether the result is closed: by `close()`, or by a method that closes it. */
  get closed(): boolean {
    return this.#stream === null || this.#stream.closed
  }

  /**
   * Column names, in order (empty for a statement that returns no rows).
   *
   * @example
   * ```ts
   * const result = await engine.execute('SELECT id, name FROM users')
   * result.keys() // ['id', 'name']
   * ```
   */
  keys(): string[] {
    return [...this.#names]
  }

  /** The Arrow schema of the rows (types as in the first batch). */
  get schema(): Schema {
    this.#schema ??= this.#firstColumns ? schemaOf(this.#names, this.#firstColumns) : new Schema([])
    return this.#schema
  }

  #rows(): ResultStream {
    if (!this.#stream) {
      throw new ResultError(
        'This result does not return rows (the statement returned none)',
        'ERR_SQLAIO_NO_ROWS_RETURNED',
      )
    }
    return this.#stream
  }

  /** The batch rows are being read from, with at least one unread row; null at the end. */
  async #openBatch(cancel: Cancel | null): Promise<OpenBatch | null> {
    const stream = this.#rows()
    const open = this.#open
    if (open && open.next < open.message.numRows && !stream.closed) return open
    this.#dropOpen()
    const message = await stream.take(cancel)
    if (!message) return null
    this.#open = {
      message,
      decoder: new RowDecoder(message, this.#names, this.#intMode, this.#rowMode),
      rows: [],
      rowsFrom: 0,
      next: 0,
    }
    return this.#open
  }

  /**
   * Takes up to `max` rows from the open batch, never more than one decoded slice, so that no
   * read holds the main thread for a whole batch.
   */
  #readRows(open: OpenBatch, max: number): Row[] {
    if (open.next >= open.rowsFrom + open.rows.length) {
      const to = Math.min(open.next + ROWS_PER_SLICE, open.message.numRows)
      open.rows = decodeUpToError(open.decoder, open.next, to)
      open.rowsFrom = open.next
    }
    const start = open.next - open.rowsFrom
    const end = Math.min(start + max, open.rows.length)
    open.next = open.rowsFrom + end
    return start === 0 && end === open.rows.length ? open.rows : open.rows.slice(start, end)
  }

  /**
   * Leaves the open batch. Everything read from it was copied into rows, so its buffer goes back
   * to the worker for reuse. Never call this for a batch handed out as Arrow data.
   */
  #dropOpen(): void {
    const open = this.#open
    this.#open = null
    if (open) this.#stream?.recycle(open.message)
  }

  /** Runs a read with its cancellation, closing the result if it is cancelled. */
  async #read<T>(
    options: CancelOptions | undefined,
    read: (cancel: Cancel | null) => Promise<T>,
  ): Promise<T> {
    const cancel = Cancel.from(options)
    try {
      if (cancel?.error) this.#abortWith(cancel.error)
      return await read(cancel)
    } finally {
      cancel?.dispose()
    }
  }

  /**
   * The next row, or null when there are no more.
   *
   * @example
   * ```ts
   * const result = await engine.execute('SELECT * FROM users ORDER BY id')
   * const first = await result.fetchone() // null once the rows are exhausted
   * ```
   */
  fetchone<T = Row>(options?: CancelOptions): Promise<T | null> {
    return this.#read(options, async (cancel) => {
      const open = await this.#openBatch(cancel)
      return open ? ((this.#readRows(open, 1)[0] as T | undefined) ?? null) : null
    })
  }

  /**
   * Up to `size` more rows (default 1, DB-API's arraysize).
   *
   * @example
   * ```ts
   * const result = await engine.execute('SELECT * FROM events')
   * for (let rows = await result.fetchmany(500); rows.length > 0; rows = await result.fetchmany(500)) handle(rows)
   * ```
   */
  fetchmany<T = Row>(size = 1, options?: CancelOptions): Promise<T[]> {
    if (!Number.isInteger(size) || size < 0) {
      return Promise.reject(new RangeError(`fetchmany: size must be a non-negative integer, got ${size}`))
    }
    return this.#read(options, async (cancel) => {
      const rows: Row[] = []
      while (rows.length < size) {
        const open = await this.#openBatch(cancel)
        if (!open) break
        for (const row of this.#readRows(open, size - rows.length)) rows.push(row)
      }
      return rows as T[]
    })
  }

  /**
   * Every remaining row. Decodes in slices and lets the event loop run every few milliseconds.
   *
   * @example
   * ```ts
   * const users = await (await engine.execute('SELECT id, name FROM users')).fetchall<{ id: number; name: string }>()
   * ```
   */
  fetchall<T = Row>(options?: CancelOptions): Promise<T[]> {
    return this.#collect(options, (open, into) => {
      for (const row of this.#readRows(open, Number.POSITIVE_INFINITY)) into.push(row)
    }) as Promise<T[]>
  }

  /**
   * Every remaining value that `readSlice` takes from the open batch (a slice at a time: it
   * advances `open.next`), across batches; lets the event loop run every BUSY_MS.
   */
  #collect(
    options: CancelOptions | undefined,
    readSlice: (open: OpenBatch, into: unknown[]) => void,
  ): Promise<unknown[]> {
    return this.#read(options, async (cancel) => {
      const all: unknown[] = []
      let since = performance.now()
      for (;;) {
        const open = await this.#openBatch(cancel)
        if (!open) return all
        while (open.next < open.message.numRows) {
          readSlice(open, all)
          if (performance.now() - since >= BUSY_MS) {
            await yieldToEventLoop()
            since = performance.now()
            if (cancel?.error) throw cancel.error
          }
        }
      }
    })
  }

  /**
   * The first row (or null), then closes the result.
   *
   * @example
   * ```ts
   * const newest = await (await engine.execute('SELECT * FROM events ORDER BY at DESC')).first()
   * ```
   */
  async first<T = Row>(options?: CancelOptions): Promise<T | null> {
    try {
      return await this.fetchone<T>(options)
    } finally {
      this.close()
    }
  }

  /**
   * The first column of the first row (or null), then closes the result.
   *
   * @example
   * ```ts
   * const count = await (await engine.execute('SELECT count(*) FROM users')).scalar()
   * ```
   */
  async scalar(options?: CancelOptions): Promise<unknown> {
    try {
      return await this.#read(options, async (cancel) => {
        const open = await this.#openBatch(cancel)
        if (!open) return null
        // The first column by position (a later column may share its name), and only it: as
        // better-sqlite3's pluck().get(), no other value of the row is read.
        checkHasColumns(open, 'scalar')
        const [value] = open.decoder.column(0, open.next, open.next + 1)
        open.next++
        return value
      })
    } finally {
      this.close()
    }
  }

  /**
   * The first column of every remaining row.
   *
   * @example
   * ```ts
   * const ids = await (await engine.execute('SELECT id FROM users')).scalars() // [1, 2, 3]
   * ```
   */
  scalars(options?: CancelOptions): Promise<unknown[]> {
    return this.#collect(options, (open, into) => {
      // The first column by position, as scalar(); in slices, as fetchall().
      checkHasColumns(open, 'scalars')
      const to = Math.min(open.next + ROWS_PER_SLICE, open.message.numRows)
      for (const value of open.decoder.column(0, open.next, to)) into.push(value)
      open.next = to
    })
  }

  /**
   * Exactly one row: rejects with a ResultError when there are none or several. Closes.
   *
   * @example
   * ```ts
   * const user = await (await engine.execute('SELECT * FROM users WHERE id = ?', [42])).one()
   * ```
   */
  async one<T = Row>(options?: CancelOptions): Promise<T> {
    try {
      const rows = await this.fetchmany<T>(2, options)
      if (rows.length === 0)
        throw new ResultError('one(): the query returned no rows', 'ERR_SQLAIO_NO_RESULT')
      if (rows.length > 1) {
        throw new ResultError('one(): the query returned more than one row', 'ERR_SQLAIO_MULTIPLE_RESULTS')
      }
      return rows[0] as T
    } finally {
      this.close()
    }
  }

  /**
   * Iterates the remaining rows, decoded a slice at a time; the event loop runs every few
   * milliseconds even when batches are already waiting. Leaving the loop early (`break`,
   * `return`, a throw) closes the result, as with a stream: the worker stops producing rows.
   * A plain iterator object rather than an async generator: one promise per row, not several.
   *
   * @example
   * ```ts
   * for await (const row of await engine.execute('SELECT * FROM events')) console.log(row)
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Row> {
    let rows: Row[] = []
    let at = 0
    let since = performance.now()
    const end = (): IteratorReturnResult<undefined> => {
      this.close()
      return { value: undefined, done: true }
    }
    return {
      next: async (): Promise<IteratorResult<Row>> => {
        try {
          if (at === rows.length) {
            const open = await this.#openBatch(null)
            if (!open) return end()
            rows = this.#readRows(open, Number.POSITIVE_INFINITY)
            at = 0
          }
          if (performance.now() - since >= BUSY_MS) {
            await yieldToEventLoop()
            since = performance.now()
          }
          return { value: rows[at++] as Row, done: false }
        } catch (error) {
          this.close()
          throw error
        }
      },
      return: async (): Promise<IteratorResult<Row>> => end(),
    }
  }

  /**
   * The remaining rows as Arrow record batches, zero-copy over shared memory. A batch stays
   * valid and unchanged for as long as it is held, even after the result is closed. Leaving the
   * loop early closes the result.
   *
   * @example
   * ```ts
   * for await (const batch of (await engine.execute('SELECT * FROM events')).batches()) {
   *   console.log(batch.numRows) // an apache-arrow RecordBatch over shared memory
   * }
   * ```
   */
  batches(options?: CancelOptions): AsyncGenerator<RecordBatch> {
    return this.#batches(options, 'stream')
  }

  async *#batches(options: CancelOptions | undefined, mode: HandOutMode): AsyncGenerator<RecordBatch> {
    const cancel = Cancel.from(options)
    try {
      if (cancel?.error) this.#abortWith(cancel.error)
      const stream = this.#rows()
      const open = this.#open
      if (open && open.next < open.message.numRows && !stream.closed) {
        // The rest of a batch partly read as rows becomes Arrow data: handed out, not recycled.
        this.#open = null
        stream.handOut(open.message, mode)
        const batch = toRecordBatch(this.#names, open.message)
        yield open.next === 0 ? batch : batch.slice(open.next)
      } else {
        this.#dropOpen()
      }
      for (;;) {
        const message = await stream.take(cancel)
        if (!message) return
        stream.handOut(message, mode)
        yield toRecordBatch(this.#names, message)
      }
    } finally {
      cancel?.dispose()
      this.close()
    }
  }

  /**
   * The remaining rows as one Arrow Table (zero-copy unless storage classes must be unified).
   *
   * @example
   * ```ts
   * const table = await (await engine.execute('SELECT * FROM events')).toArrow() // apache-arrow Table
   * ```
   */
  async toArrow(options?: CancelOptions): Promise<Table> {
    const batches: RecordBatch[] = []
    for await (const batch of this.#batches(options, 'gather')) batches.push(batch)
    if (batches.length === 0) return new Table(this.schema)
    return new Table(unifyBatches(batches))
  }

  /**
   * The remaining rows of one column as an Arrow Vector.
   *
   * @example
   * ```ts
   * const prices = await (await engine.execute('SELECT price FROM sales')).column('price')
   * console.log(prices.length, prices.get(0))
   * ```
   */
  async column(name: string, options?: CancelOptions): Promise<Vector> {
    this.#rows()
    if (!this.#names.includes(name)) {
      throw new RangeError(`column(): no column named "${name}" (columns: ${this.#names.join(', ')})`)
    }
    const vector = (await this.toArrow(options)).getChild(name)
    if (!vector) throw new RangeError(`column(): no column named "${name}"`)
    return vector
  }

  /**
   * Writes the remaining rows as Arrow IPC ('file' format by default, or 'stream') to a path or
   * a Writable stream, a batch at a time with backpressure. Resolves with rows and bytes written.
   *
   * @example
   * ```ts
   * await (await engine.execute('SELECT * FROM events')).writeIPC('events.arrow')
   * ```
   */
  writeIPC(destination: io.Destination, options?: io.IpcWriteOptions): Promise<io.WriteStats> {
    return io.writeIPC(this, destination, options)
  }

  /**
   * The remaining rows as Arrow IPC bytes ('stream' format by default, or 'file').
   *
   * @example
   * ```ts
   * const bytes = await (await engine.execute('SELECT * FROM events')).toIPC()
   * const table = tableFromIPC(bytes)
   * ```
   */
  toIPC(options?: io.IpcOptions): Promise<Uint8Array> {
    return io.toIPC(this, options)
  }

  /**
   * Writes the remaining rows as CSV (RFC 4180: header line, CRLF, quotes doubled; NULL an empty
   * field, the empty string `""`; integers exact, BLOBs base64). Streams batch by batch.
   *
   * @example
   * ```ts
   * await (await engine.execute('SELECT * FROM users')).writeCSV('users.csv')
   * ```
   */
  writeCSV(destination: io.Destination, options?: io.CsvOptions): Promise<io.WriteStats> {
    return io.writeCSV(this, destination, options)
  }

  /**
   * Writes the remaining rows as NDJSON, one object per line (integers exact, BLOBs base64).
   *
   * @example
   * ```ts
   * await (await engine.execute('SELECT * FROM users')).writeNDJSON(process.stdout, { end: false })
   * ```
   */
  writeNDJSON(destination: io.Destination, options?: io.NdjsonOptions): Promise<io.WriteStats> {
    return io.writeNDJSON(this, destination, options)
  }

  /**
   * Writes the remaining rows as a Parquet file, a row group at a time. Needs the optional
   * package `parquet-wasm` (`npm install parquet-wasm`).
   *
   * @example
   * ```ts
   * await (await engine.execute('SELECT * FROM events')).writeParquet('events.parquet')
   * ```
   */
  writeParquet(path: string | URL, options?: io.ParquetOptions): Promise<io.WriteStats> {
    return io.writeParquet(this, path, options)
  }

  /** A read whose signal had already fired: like any cancelled read, it closes the result. */
  #abortWith(error: AbortError): never {
    this.#dropOpen()
    this.#stream?.abort(error)
    throw error
  }

  /**
   * Discards the remaining rows and lets the worker stop producing them.
   *
   * @example
   * ```ts
   * const result = await engine.execute('SELECT * FROM events')
   * const first = await result.fetchone()
   * result.close() // the worker stops producing the rest
   * ```
   */
  close(): void {
    this.#dropOpen()
    this.#stream?.close()
  }

  /**
   * Closes the result (as `close()`), for `await using`.
   *
   * @example
   * ```ts
   * await using result = await engine.execute('SELECT * FROM events')
   * const first = await result.fetchone()
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close()
  }
}
