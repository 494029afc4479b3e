/**
 * The PostgreSQL driver, worker side: one `pg` Client (one server connection) per worker.
 *
 * A statement's description (parameter count, result columns) comes from Parse/Describe the
 * first time and from a per-connection cache after that (descriptions.ts). A row-returning
 * statement then runs through the extended protocol in one round trip — Parse, Bind with binary
 * results for every column type sqlaio decodes (text for the others), Describe, Execute, Sync —
 * and the wire tap hands its rows straight to the decoder (tuples.ts), bypassing `pg`'s parser.
 * Parameters travel as parameters, never inlined into the text. Statements without rows run
 * through `pg`'s ordinary `query()`.
 *
 * Backpressure: decoded batches queue in the cursor; past two unread batches the tap pauses the
 * socket (the server then blocks on its send buffer), and resumes as the executor takes them.
 *
 * Ordering: the executor runs one request at a time, but closing a cursor early (or cancelling)
 * ends its portal asynchronously; `#gate` is what the next statement waits for: the portal's end
 * and the cancel connection's close (see cancel.ts for why the latter makes a cancel exact).
 */

import type { BatchMessage, BoundParams, BoundValue } from '../../thread/protocol.js'
import type { Driver, RowCursor, StatementOutcome } from '../../worker/driver.js'
import { eachParamSet, type ParamSets } from '../../worker/param-sets.js'
import { sendCancel } from './cancel.js'
import { type Description, DescriptionCache, sameColumns } from './descriptions.js'
import { fromPgError, isServerError } from './errors.js'
import type { PgClient, PgField, PgModule } from './load.js'
import { isPlainRead, mayChangeDescriptions } from './sql-text.js'
import { Describe, Portal, type PortalEvents, portalMessages } from './submittables.js'
import { BuilderPool, TupleDecoder } from './tuples.js'
import { type PgType, pgType } from './types.js'
import { WireTap } from './wire-tap.js'

/** Unread batches a cursor keeps before it pauses the socket. */
const HIGH_WATER = 2
/** A column sent in text form arrives as the bytes of its type's output function: Utf8. */
const TEXT_FORM = pgType(25, -1) as PgType
const ignore = (): void => {}

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

/**
 * The result formats to ask for: one binary code for all when every column has a decoder, else
 * a code per column (text for the types decoded from their text form).
 */
function resultFormats(fields: readonly PgField[]): number[] {
  const binary = fields.map((f) => (pgType(f.dataTypeID, f.dataTypeModifier) ? 1 : 0))
  return binary.every((b) => b === 1) ? [1] : binary
}

/** The server's "bind message has N result formats but query has M columns" (a stale entry). */
const isFormatCountError = (error: unknown): boolean =>
  error instanceof Error && /result formats but query has/.test(error.message)

/**
 * One call (execute, exec, executeMany) from start to end, across its server exchanges, so that
 * a cancel arriving between two exchanges is not lost: the next one does not start.
 */
interface Operation {
  cancelled: boolean
  /** Whether an exchange of this operation is on the wire (a cancel request can stop it). */
  onWire: boolean
}

export class PgDriver implements Driver {
  readonly #client: PgClient
  readonly #tap: WireTap
  readonly #descriptions = new DescriptionCache()
  readonly #builders = new BuilderPool()
  /** Transaction status from the last ReadyForQuery: I idle, T in a transaction, E failed one. */
  #status = 'I'
  /**
   * What the next statement waits for (the last portal's end, a cancel's delivery); null once it
   * has passed, so that a statement finding the way clear writes at once, without an await.
   */
  #gate: Promise<void> | null = null
  /** The call in progress, if any. */
  #running: Operation | null = null
  /** The exchange in progress, settled with an error if the connection is lost under it. */
  #exchange: Portal | Describe | null = null
  #lost: Error | null = null
  /** ReadyForQuery messages received so far. */
  #readies = 0
  /** Called at the next ReadyForQuery, or when the connection is lost (see `#readyAfter`). */
  #onReady: (() => void)[] = []

  private constructor(client: PgClient) {
    this.#client = client
    this.#tap = new WireTap(client.connection.stream)
    client.connection.on('readyForQuery', ((message: { status: string }) => {
      this.#status = message.status
      this.#readies++
      this.#wakeReady()
    }) as (message: never) => void)
  }

  #wakeReady(): void {
    const waiting = this.#onReady
    if (waiting.length === 0) return
    this.#onReady = []
    for (const wake of waiting) wake()
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
      driver.#wakeReady()
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
   * Asks the server to stop the call in progress, if there is one. A statement on the wire
   * then fails with SQLSTATE 57014, which this driver reports as an abort; one not started yet
   * does not start.
   */
  cancelRunning(): void {
    const op = this.#running
    if (op) this.cancel(op)
  }

  /** Cancels `op` (see cancelRunning); a no-op once it was cancelled. */
  cancel(op: Operation): void {
    if (op.cancelled) return
    op.cancelled = true
    if (!op.onWire) return
    const { host, port, processID, secretKey } = this.#client
    if (processID === null || secretKey === null) return
    this.#shut(Promise.all([this.#gate, sendCancel(host, port, processID, secretKey)]))
  }

  /** Makes the next statement wait until `until` settles. */
  #shut(until: Promise<unknown>): void {
    const gate: Promise<void> = until.then(
      () => this.#open(gate),
      () => this.#open(gate),
    )
    this.#gate = gate
  }

  #open(gate: Promise<void>): void {
    if (this.#gate === gate) this.#gate = null
  }

  #begin(): Operation {
    const op = { cancelled: false, onWire: false }
    this.#running = op
    return op
  }

  /** Ends `op` (its last exchange is over). */
  finish(op: Operation): void {
    if (this.#running === op) this.#running = null
  }

  /**
   * Resolves once a ReadyForQuery has arrived since `#readies` read `since` (at once if one has,
   * or if the connection is lost). After an error `pg` settles the call before the server's
   * ReadyForQuery arrives; waiting for it keeps the transaction status exact when the error is
   * reported. A count rather than a listener per exchange: the ReadyForQuery may be read (in the
   * same chunk) before the error reaches the code that waits.
   */
  #readyAfter(since: number): Promise<void> {
    if (this.#readies > since || this.#lost) return Promise.resolve()
    return new Promise((resolve) => this.#onReady.push(resolve))
  }

  /** Runs one exchange of `op` on the wire; a 57014 its cancel caused becomes an abort. */
  async #wire<T>(op: Operation, work: () => Promise<T>): Promise<T> {
    if (this.#gate) await this.#gate
    if (this.#lost) throw this.#lost
    if (op.cancelled) throw abortError()
    op.onWire = true
    const readies = this.#readies
    try {
      return await work()
    } catch (error) {
      await this.#readyAfter(readies)
      if (op.cancelled && isServerError(error) && error.code === '57014') throw abortError()
      throw fromPgError(error)
    } finally {
      op.onWire = false
    }
  }

  async #submit<T extends Portal | Describe>(exchange: T): Promise<T> {
    this.#exchange = exchange
    void this.#client.query(exchange)
    await exchange.done
    if (this.#exchange === exchange) this.#exchange = null
    if (exchange.error) throw exchange.error
    return exchange
  }

  /** The statement's description from the server (one round trip), then cached. */
  async #describe(op: Operation, sql: string): Promise<Description> {
    const described = await this.#wire(op, () => this.#submit(new Describe(sql)))
    const description = { paramCount: described.paramCount, fields: described.fields }
    this.#descriptions.set(sql, description)
    return description
  }

  async execute(sql: string, params: BoundParams, batchRows: number): Promise<StatementOutcome> {
    const values = positional(params)
    const op = this.#begin()
    try {
      return await this.#execute(op, sql, values, batchRows, true)
    } catch (error) {
      this.finish(op)
      throw error
    }
  }

  async #execute(
    op: Operation,
    sql: string,
    values: BoundValue[],
    batchRows: number,
    mayRetry: boolean,
  ): Promise<StatementOutcome> {
    // A retry runs under the same operation, which its first attempt ended: make it current
    // again, so that a cancel still reaches it.
    this.#running = op
    const cached = this.#descriptions.get(sql)
    // A cached description costs no await: a statement run again goes straight to the wire.
    const description = cached ?? (await this.#describe(op, sql))
    if (description.paramCount !== values.length) {
      throw new RangeError(
        `the statement takes ${description.paramCount} parameter(s) but ${values.length} were given`,
      )
    }
    if (!description.fields) {
      try {
        const result = await this.#wire(op, () => this.#client.query({ text: sql, values }))
        this.finish(op)
        return { returnsRows: false, rowcount: result.rowCount ?? 0, lastInsertRowid: 0n }
      } finally {
        if (mayChangeDescriptions(sql)) this.#descriptions.clear()
      }
    }
    const wasIdle = this.#status === 'I'
    const cursor = new PortalCursor(this, this.#tap, this.#builders, op, batchRows)
    const messages = portalMessages(sql, values, resultFormats(description.fields))
    const portal = new Portal(messages, this.#tap, cursor)
    const ended = this.#wire(op, () => this.#submit(portal))
    // The next statement waits until this portal is over, however it ends.
    this.#shut(ended)
    cursor.follow(ended)
    try {
      await cursor.described
    } catch (error) {
      // A stale entry asked for a result format per column of a statement whose column count
      // changed: the server refused the Bind, so nothing ran. Outside a transaction (which the
      // error would have aborted), describe again and retry once.
      if (cached && isFormatCountError(error)) {
        this.#descriptions.delete(sql)
        if (mayRetry && wasIdle) return this.#execute(op, sql, values, batchRows, false)
      }
      throw error
    }
    const fields = cursor.fields ?? description.fields
    if (!sameColumns(fields, description.fields)) this.#descriptions.set(sql, { ...description, fields })
    if (cursor.undecodable) {
      // A stale entry asked for binary results, and a column's type changed to one sqlaio
      // decodes from its text form only: the rows came in a form it cannot read.
      cursor.discard()
      await ended.catch(ignore)
      this.#descriptions.delete(sql)
      if (mayRetry && wasIdle && isPlainRead(sql)) return this.#execute(op, sql, values, batchRows, false)
      throw new Error(
        'the result columns of this statement changed type since it was last described (a concurrent schema change?): run it again',
      )
    }
    return { returnsRows: true, columns: fields.map((f) => f.name), cursor }
  }

  async exec(sql: string): Promise<void> {
    const committing = /^\s*(commit|end)\s*;?\s*$/i.test(sql) && this.#status === 'E'
    const op = this.#begin()
    try {
      await this.#wire(op, () => this.#client.query(sql))
    } finally {
      this.finish(op)
      if (mayChangeDescriptions(sql, true)) this.#descriptions.clear()
    }
    if (committing) {
      const error = new Error('COMMIT rolled the transaction back: a statement in it had failed')
      throw Object.assign(error, { name: 'DatabaseError', code: '25P02', fields: {} })
    }
  }

  async executeMany(sql: string, sets: ParamSets): Promise<number> {
    const lists = Array.from(eachParamSet(sets), positional)
    const outer = this.#status === 'I'
    await this.exec(outer ? 'BEGIN' : 'SAVEPOINT sqlaio_many')
    let changes = 0
    const op = this.#begin()
    try {
      await this.#wire(op, async () => {
        for (const values of lists) changes += (await this.#client.query({ text: sql, values })).rowCount ?? 0
      })
    } catch (error) {
      if (!this.#lost)
        await this.#client
          .query(outer ? 'ROLLBACK' : 'ROLLBACK TO SAVEPOINT sqlaio_many; RELEASE SAVEPOINT sqlaio_many')
          .catch(ignore)
      throw error
    } finally {
      this.finish(op)
      if (mayChangeDescriptions(sql)) this.#descriptions.clear()
    }
    await this.exec(outer ? 'COMMIT' : 'RELEASE SAVEPOINT sqlaio_many')
    return changes
  }

  async rollbackAll(): Promise<void> {
    await this.#gate
    if (this.#status !== 'I') await this.exec('ROLLBACK')
  }

  async close(): Promise<void> {
    await this.#client.end().catch(ignore)
  }
}

/**
 * The rows of one portal, decoded into batches of `batchRows` rows as the wire tap reads them
 * (every `nextBatch` asks for that size: the executor's stream keeps its call's batch size). The
 * tap is paused whenever two decoded batches wait unread.
 */
class PortalCursor implements RowCursor, PortalEvents {
  readonly #driver: PgDriver
  readonly #tap: WireTap
  readonly #builders: BuilderPool
  readonly #op: Operation
  /** The result's columns as the portal described them (null until then). */
  fields: PgField[] | null = null
  /** A column came in binary form with no decoder for its type (a stale description). */
  undecodable = false
  /** Settles at the RowDescription, or when the portal ended without one (rejects on error). */
  readonly described: Promise<void>
  #onDescribed: () => void = ignore
  readonly #batchRows: number
  /** Made at the RowDescription (or, without one, at the portal's end). */
  #decoder: TupleDecoder | null = null
  readonly #queue: BatchMessage[] = []
  #ended = false
  #error: unknown = null
  /** Whether this cursor paused the tap (waiting for a reader). */
  #paused = false
  #closed = false
  #wake: (() => void) | null = null

  constructor(driver: PgDriver, tap: WireTap, builders: BuilderPool, op: Operation, batchRows: number) {
    this.#driver = driver
    this.#tap = tap
    this.#builders = builders
    this.#op = op
    this.#batchRows = batchRows
    let reject: (error: unknown) => void = ignore
    this.described = new Promise<void>((resolve, fail) => {
      this.#onDescribed = resolve
      reject = fail
    })
    this.#reject = reject
  }

  readonly #reject: (error: unknown) => void

  get done(): boolean {
    // A portal that failed is not done until its error has been taken (by the nextBatch after
    // its last batch): an error the server sends after some rows fails the result.
    return this.#ended && this.#queue.length === 0 && (this.#error === null || this.#closed)
  }

  /** Tracks the portal's failure (its success is `end`). */
  follow(ended: Promise<unknown>): void {
    ended.catch((error: unknown) => {
      this.#reject(error)
      this.#end(error)
    })
  }

  /**
   * The portal's ReadyForQuery: its tail batch, right away (the exchange's promises settle a few
   * turns of the microtask queue later, and the first batch of a small result waits for this).
   */
  end(): void {
    this.#onDescribed()
    // A portal that ended without a RowDescription has no rows: its only batch is empty.
    const decoder = this.#decoder ?? this.#decoderOf([])
    // The tail of the rows, or the (empty, typed) only batch of a result without rows.
    if (!this.#closed && (decoder.rows > 0 || decoder.emitted === 0)) this.#queue.push(decoder.finish())
    this.#end(null)
  }

  description(fields: PgField[]): void {
    this.fields = fields
    const types = fields.map((f) => {
      if (f.format === 'text') return TEXT_FORM
      const type = pgType(f.dataTypeID, f.dataTypeModifier)
      if (!type) this.undecodable = true
      return type ?? TEXT_FORM
    })
    this.#decoder = this.#decoderOf(types)
    this.#onDescribed()
  }

  #decoderOf(types: PgType[]): TupleDecoder {
    return new TupleDecoder(
      types,
      this.#batchRows,
      (batch) => {
        this.#queue.push(batch)
        this.#wake?.()
        if (this.#queue.length >= HIGH_WATER) this.#pause()
      },
      this.#builders,
    )
  }

  row(buf: Buffer, start: number, end: number): void {
    // Nothing comes after the portal's end; were it to, the decoder's builders are no longer its.
    if (!this.#closed && !this.undecodable && !this.#ended) this.#decoder!.row(buf, start, end)
  }

  #pause(): void {
    if (this.#paused) return
    this.#paused = true
    this.#tap.pause()
  }

  #resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#tap.resume()
  }

  #end(error: unknown): void {
    // Once only: a connection lost right after the ReadyForQuery (`end`) fails the exchange too.
    if (this.#ended) return
    this.#ended = true
    this.#error = error
    this.#decoder?.release()
    this.#driver.finish(this.#op)
    this.#wake?.()
  }

  /** A batch already decoded (or the end) comes back at once, without a promise. */
  nextBatch(): BatchMessage | null | Promise<BatchMessage | null> {
    return this.#queue.length > 0 || this.#ended || this.#closed ? this.#take() : this.#awaitBatch()
  }

  #take(): BatchMessage | null {
    const batch = this.#queue.shift() ?? null
    if (this.#queue.length < HIGH_WATER) this.#resume()
    if (!batch && this.#error) throw this.#error
    return batch
  }

  async #awaitBatch(): Promise<BatchMessage | null> {
    this.#resume()
    while (this.#queue.length === 0 && !this.#ended && !this.#closed) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
      this.#wake = null
    }
    return this.#take()
  }

  /** Reads the rest of the rows to drop them, letting the statement finish (not cancelled). */
  discard(): void {
    this.#closed = true
    this.#queue.length = 0
    this.#resume()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#queue.length = 0
    // Stop the server sending the rest; the portal then ends with 57014, which nobody reads.
    if (!this.#ended) this.#driver.cancel(this.#op)
    // The rest is read (and dropped) until the portal's end.
    this.#resume()
    this.#wake?.()
  }
}
