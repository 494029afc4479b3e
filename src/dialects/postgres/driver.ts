/**
 * The PostgreSQL driver, worker side: one `pg` Client (one server connection) per worker.
 *
 * A row-returning statement is first described (Parse/Describe: its parameter count and column
 * types), then run as `COPY (statement) TO STDOUT (FORMAT binary)` with its parameters inlined
 * as literals, and the binary stream is decoded straight into Arrow batches (copy-binary.ts).
 * Statements COPY cannot wrap (SHOW, EXPLAIN, FETCH…) run through `pg` with text results and
 * come back as Utf8 columns. Statements without rows run through `pg`'s ordinary `query()`.
 *
 * Backpressure: decoded batches queue in the cursor; past two unread batches the socket is
 * paused (the server then blocks on its send buffer), and resumed as the executor takes them.
 *
 * Ordering: the executor runs one request at a time, but closing a cursor early (or cancelling)
 * ends its COPY asynchronously; `#gate` is what the next statement waits for: the COPY's end and
 * the cancel connection's close (see cancel.ts for why the latter makes a cancel exact).
 */
import type { BatchMessage, BoundParams, BoundValue } from '../../thread/protocol.js'
import type { Driver, RowCursor, StatementOutcome } from '../../worker/driver.js'
import { sendCancel } from './cancel.js'
import { ColumnBuilder } from './column-builder.js'
import { CopyBinaryDecoder } from './copy-binary.js'
import { fromPgError, isServerError } from './errors.js'
import type { PgClient, PgModule } from './load.js'
import { firstKeyword, inlineParams } from './sql-text.js'
import { CopyOut, Describe } from './submittables.js'
import { type PgType, pgType } from './types.js'

/** Statements whose rows `COPY (…) TO STDOUT` can carry. */
const COPYABLE = new Set(['select', 'values', 'table', 'with', 'insert', 'update', 'delete'])
/** Unread batches a cursor keeps before it pauses the socket. */
const HIGH_WATER = 2
const identity = (value: string): string => value

function abortError(): Error {
  const error = new Error('The operation was aborted')
  error.name = 'AbortError'
  return error
}

function positional(params: BoundParams): BoundValue[] {
  if (Array.isArray(params)) return params
  if (Object.keys(params).length === 0) return []
  throw new TypeError(
    'PostgreSQL statements take positional parameters ($1, $2, …): pass an array, not an object',
  )
}

export class PgDriver implements Driver {
  readonly #client: PgClient
  /** Transaction status from the last ReadyForQuery: I idle, T in a transaction, E failed one. */
  #status = 'I'
  /** What the next statement waits for (an early-closed COPY's end, a cancel's delivery). */
  #gate: Promise<void> = Promise.resolve()
  /** The statement on the wire, if any, and whether it is being cancelled. */
  #running: { cancelled: boolean } | null = null
  /** The exchange in progress, settled with an error if the connection is lost under it. */
  #exchange: CopyOut | Describe | null = null
  #lost: Error | null = null
  /** Called when the connection is lost (waiters for a ReadyForQuery that will not come). */
  readonly #onLost = new Set<() => void>()

  private constructor(client: PgClient) {
    this.#client = client
    client.connection.on('readyForQuery', ((message: { status: string }) => {
      this.#status = message.status
    }) as (message: never) => void)
  }

  /** Connects; `onLost` is called once if the server connection ends unexpectedly. */
  static async open(
    pg: PgModule,
    connectionString: string,
    onLost: (error: Error) => void,
  ): Promise<PgDriver> {
    const client = new pg.Client({ connectionString })
    let driver: PgDriver | null = null
    const lost = (error: Error): void => {
      if (!driver || driver.#lost) return
      driver.#lost = error
      driver.#exchange?.settle(error)
      for (const wake of driver.#onLost) wake()
      onLost(error)
    }
    client.on('error', lost)
    try {
      await client.connect()
    } catch (error) {
      throw fromPgError(error)
    }
    driver = new PgDriver(client)
    ;(client as unknown as { on(event: 'end', listener: () => void): void }).on('end', () =>
      lost(new Error('The PostgreSQL server closed the connection')),
    )
    return driver
  }

  /** Whether a transaction is open (failed or not: a failed one still needs its ROLLBACK). */
  get inTransaction(): boolean {
    return this.#status !== 'I'
  }

  /** 'idle', 'active' or 'failed' (a statement failed: only ROLLBACK is accepted). */
  get transactionState(): 'idle' | 'active' | 'failed' {
    return this.#status === 'I' ? 'idle' : this.#status === 'E' ? 'failed' : 'active'
  }

  get raw(): PgClient {
    return this.#client
  }

  /** The server process of this connection. */
  get backendPid(): number {
    return this.#client.processID ?? 0
  }

  /**
   * Asks the server to stop the statement on the wire, if there is one. The statement then
   * fails with SQLSTATE 57014, which this driver reports as an abort.
   */
  cancelRunning(): void {
    const running = this.#running
    if (!running || running.cancelled) return
    running.cancelled = true
    const { host, port, processID, secretKey } = this.#client
    if (processID === null || secretKey === null) return
    const delivered = sendCancel(host, port, processID, secretKey)
    const gate = this.#gate
    this.#gate = Promise.all([gate, delivered]).then(() => undefined)
  }

  /**
   * Resolves at the next ReadyForQuery (or when the connection is lost). After an error `pg`
   * settles the call before the server's ReadyForQuery arrives; waiting for it keeps the
   * transaction status exact when the error is reported, and `dispose` removes the listener.
   */
  #nextReady(): { ready: Promise<void>; dispose: () => void } {
    const connection = this.#client.connection
    let done: () => void = () => {}
    const ready = new Promise<void>((resolve) => {
      done = resolve
    })
    const listener = (() => done()) as (message: never) => void
    connection.on('readyForQuery', listener)
    this.#onLost.add(done)
    return {
      ready,
      dispose: () => {
        connection.removeListener('readyForQuery', listener)
        this.#onLost.delete(done)
      },
    }
  }

  /** Runs `work` as the statement on the wire; a 57014 it caused by cancelling becomes an abort. */
  async #track<T>(work: (running: { cancelled: boolean }) => Promise<T>): Promise<T> {
    await this.#gate
    if (this.#lost) throw this.#lost
    const running = { cancelled: false }
    this.#running = running
    const next = this.#nextReady()
    try {
      return await work(running)
    } catch (error) {
      if (!this.#lost) await next.ready
      if (running.cancelled && isServerError(error) && error.code === '57014') throw abortError()
      throw fromPgError(error)
    } finally {
      next.dispose()
      if (this.#running === running) this.#running = null
    }
  }

  async #submit<T extends CopyOut | Describe>(exchange: T): Promise<T> {
    this.#exchange = exchange
    void this.#client.query(exchange)
    await exchange.done
    if (this.#exchange === exchange) this.#exchange = null
    if (exchange.error) throw exchange.error
    return exchange
  }

  execute(sql: string, params: BoundParams): Promise<StatementOutcome> {
    const values = positional(params)
    return this.#track(async (running) => {
      const described = await this.#submit(new Describe(sql))
      if (described.paramCount !== values.length) {
        throw new RangeError(
          `the statement takes ${described.paramCount} parameter(s) but ${values.length} were given`,
        )
      }
      const fields = described.fields
      if (!fields) {
        const result = await this.#client.query({ text: sql, values })
        return { returnsRows: false, rowcount: result.rowCount ?? 0, lastInsertRowid: 0n }
      }
      const columns = fields.map((f) => f.name)
      if (!COPYABLE.has(firstKeyword(sql))) {
        const result = await this.#client.query({
          text: sql,
          values,
          rowMode: 'array',
          types: { getTypeParser: () => identity },
        })
        return {
          returnsRows: true,
          columns,
          cursor: new TextCursor(result.rows as (string | null)[][], columns.length),
        }
      }
      const types = fields.map((f) => pgType(f.dataTypeID, f.dataTypeModifier))
      let body = inlineParams(sql, values)
      if (types.includes(null)) {
        // Types without a binary decoder are cast to text, by position (names may repeat).
        const names = fields.map((_, i) => `c${i + 1}`)
        // format('%s') is the type's own output function (a ::text cast may differ: inet).
        const select = names
          .map((name, i) =>
            types[i] ? name : `CASE WHEN ${name} IS NULL THEN NULL ELSE format('%s', ${name}) END`,
          )
          .join(', ')
        body = `WITH sqlaio_q(${names.join(', ')}) AS (\n${body}\n) SELECT ${select} FROM sqlaio_q`
      }
      const resolved = types.map((t) => t ?? (pgType(25, -1) as PgType))
      const cursor = new CopyCursor(this, `COPY (\n${body}\n) TO STDOUT (FORMAT binary)`, resolved, running)
      return { returnsRows: true, columns, cursor }
    })
  }

  /** Starts a COPY for `cursor`; resolves when it ended (its error, if any, is the cursor's). */
  startCopy(cursor: CopyCursor, text: string, running: { cancelled: boolean }): Promise<void> {
    const copy = new CopyOut(text, (chunk) => cursor.onData(chunk))
    const ended = this.#track(async (tracked) => {
      // The cursor may be cancelled through the execute's token before it started.
      if (running.cancelled) tracked.cancelled = true
      cursor.tracked = tracked
      await this.#submit(copy)
    })
    // The next statement waits until this COPY is over, however it ends.
    this.#gate = ended.then(
      () => undefined,
      () => undefined,
    )
    return ended
  }

  pause(): void {
    this.#client.connection.stream.pause()
  }

  resume(): void {
    this.#client.connection.stream.resume()
  }

  async exec(sql: string): Promise<void> {
    const committing = /^\s*(commit|end)\s*;?\s*$/i.test(sql) && this.#status === 'E'
    await this.#track(() => this.#client.query(sql))
    if (committing) {
      const error = new Error('COMMIT rolled the transaction back: a statement in it had failed')
      throw Object.assign(error, { name: 'DatabaseError', code: '25P02', fields: {} })
    }
  }

  async executeMany(sql: string, paramsList: BoundParams[]): Promise<number> {
    const lists = paramsList.map(positional)
    const outer = this.#status === 'I'
    await this.exec(outer ? 'BEGIN' : 'SAVEPOINT sqlaio_many')
    let changes = 0
    try {
      await this.#track(async () => {
        for (const values of lists) changes += (await this.#client.query({ text: sql, values })).rowCount ?? 0
      })
    } catch (error) {
      if (!this.#lost)
        await this.#client
          .query(outer ? 'ROLLBACK' : 'ROLLBACK TO SAVEPOINT sqlaio_many; RELEASE SAVEPOINT sqlaio_many')
          .catch(() => {})
      throw error
    }
    await this.exec(outer ? 'COMMIT' : 'RELEASE SAVEPOINT sqlaio_many')
    return changes
  }

  async rollbackAll(): Promise<void> {
    await this.#gate
    if (this.#status !== 'I') await this.exec('ROLLBACK')
  }

  async close(): Promise<void> {
    await this.#client.end().catch(() => {})
  }
}

/** The rows of a COPY, decoded into batches as the data arrives. */
class CopyCursor implements RowCursor {
  readonly #driver: PgDriver
  readonly #text: string
  readonly #types: readonly PgType[]
  readonly #running: { cancelled: boolean }
  /** The COPY's own token once it is on the wire (cancelling it stops the COPY). */
  tracked: { cancelled: boolean } | null = null
  #decoder: CopyBinaryDecoder | null = null
  readonly #queue: BatchMessage[] = []
  #ended = false
  #error: unknown = null
  #paused = false
  #closed = false
  #wake: (() => void) | null = null

  constructor(driver: PgDriver, text: string, types: readonly PgType[], running: { cancelled: boolean }) {
    this.#driver = driver
    this.#text = text
    this.#types = types
    this.#running = running
  }

  get done(): boolean {
    return this.#ended && this.#queue.length === 0
  }

  onData(chunk: Buffer): void {
    if (this.#closed) return
    this.#decoder!.push(chunk)
  }

  #start(batchRows: number): void {
    this.#decoder = new CopyBinaryDecoder(this.#types, batchRows, (batch) => {
      this.#queue.push(batch)
      this.#wake?.()
      if (this.#queue.length >= HIGH_WATER && !this.#paused) {
        this.#paused = true
        this.#driver.pause()
      }
    })
    this.#driver.startCopy(this, this.#text, this.#running).then(
      () => {
        const decoder = this.#decoder!
        // The tail of the rows, or the (empty, typed) only batch of a result without rows.
        if (!this.#closed && (decoder.rows > 0 || decoder.emitted === 0)) this.#queue.push(decoder.finish())
        this.#end(null)
      },
      (error) => this.#end(error),
    )
  }

  #end(error: unknown): void {
    this.#ended = true
    this.#error = error
    this.#wake?.()
  }

  async nextBatch(maxRows: number): Promise<BatchMessage | null> {
    if (!this.#decoder) this.#start(maxRows)
    while (this.#queue.length === 0 && !this.#ended && !this.#closed) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
      this.#wake = null
    }
    const batch = this.#queue.shift() ?? null
    if (this.#paused && this.#queue.length < HIGH_WATER) {
      this.#paused = false
      this.#driver.resume()
    }
    if (!batch && this.#error) throw this.#error
    return batch
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#queue.length = 0
    if (!this.#ended) {
      // Stop the server sending the rest; the COPY then ends with 57014, which nobody reads.
      if (this.tracked) this.#driver.cancelRunning()
      else this.#running.cancelled = true
    }
    if (this.#paused) {
      this.#paused = false
      this.#driver.resume()
    }
    this.#wake?.()
  }
}

/** Rows that arrived as text (statements COPY cannot wrap): one batch of Utf8 columns. */
class TextCursor implements RowCursor {
  #rows: (string | null)[][] | null
  readonly #columns: number

  constructor(rows: (string | null)[][], columns: number) {
    this.#rows = rows
    this.#columns = columns
  }

  get done(): boolean {
    return this.#rows === null
  }

  nextBatch(): BatchMessage | null {
    const rows = this.#rows
    if (!rows) return null
    this.#rows = null
    const builders = Array.from({ length: this.#columns }, () => new ColumnBuilder({ id: 'utf8' }))
    for (const row of rows) {
      for (let c = 0; c < this.#columns; c++) {
        const value = row[c]
        if (value === null || value === undefined) builders[c]!.appendNull()
        else builders[c]!.appendString(value)
      }
    }
    let size = 0
    for (const b of builders) size += b.size()
    const buffer = new SharedArrayBuffer(Math.max(size, 8))
    const target = new Uint8Array(buffer)
    let at = 0
    const columns = builders.map((b) => {
      const written = b.write(target, at)
      at = written.end
      return written.layout
    })
    return { buffer, numRows: rows.length, columns, lease: 0 }
  }

  close(): void {
    this.#rows = null
  }
}
