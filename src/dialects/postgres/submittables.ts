/**
 * Two protocol exchanges `pg` has no API for, written as `pg` "submittables" (objects with a
 * `submit(connection)` method that the client queues like queries and feeds the messages of):
 * describing a statement without running it, and receiving COPY data as raw buffers.
 */
import type { PgConnection, PgField } from './load.js'

/** What a submittable receives from the client; unused messages are ignored. */
abstract class Exchange {
  error: Error | null = null
  #settle: (() => void) | null = null
  readonly done: Promise<void>

  constructor() {
    this.done = new Promise((resolve) => {
      this.#settle = resolve
    })
  }

  abstract submit(connection: PgConnection): void

  /** Ends the exchange; `error` (if any) is what it failed with. */
  settle(error?: Error): void {
    if (error && !this.error) this.error = error
    this.#settle?.()
    this.#settle = null
  }

  /**
   * `pg` stops routing messages to an exchange once the server reports an error (the
   * ReadyForQuery that follows goes to nobody), so the exchange ends here; the driver waits
   * for that ReadyForQuery itself.
   */
  handleError(error: Error): void {
    this.settle(error)
  }
  handleReadyForQuery(): void {
    this.settle()
  }
  handleRowDescription(_message: { fields: PgField[] }): void {}
  handleDataRow(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {
    this.error ??= new Error('COPY FROM STDIN is not supported by execute()')
  }
  handleCopyData(_message: { chunk: Buffer }): void {}
}

/** Parse + Describe + Sync: the statement's parameter count and result columns (null: none). */
export class Describe extends Exchange {
  readonly #text: string
  fields: PgField[] | null = null
  paramCount = 0
  #connection: PgConnection | null = null
  readonly #onParams = (message: { dataTypeIDs: number[] }): void => {
    this.paramCount = message.dataTypeIDs.length
  }

  constructor(text: string) {
    super()
    this.#text = text
  }

  submit(connection: PgConnection): void {
    this.#connection = connection
    connection.on('parameterDescription', this.#onParams as (message: never) => void)
    connection.parse({ text: this.#text, name: '', types: [] })
    connection.describe({ type: 'S', name: '' })
    connection.sync()
  }

  override handleRowDescription(message: { fields: PgField[] }): void {
    this.fields = message.fields
  }

  override settle(error?: Error): void {
    this.#connection?.removeListener('parameterDescription', this.#onParams as (message: never) => void)
    super.settle(error)
  }
}

/** A simple-protocol COPY … TO STDOUT whose data chunks go to `onData` as they arrive. */
export class CopyOut extends Exchange {
  readonly #text: string
  readonly #onData: (chunk: Buffer) => void

  constructor(text: string, onData: (chunk: Buffer) => void) {
    super()
    this.#text = text
    this.#onData = onData
  }

  submit(connection: PgConnection): void {
    connection.query(this.#text)
  }

  override handleCopyData(message: { chunk: Buffer }): void {
    if (this.error) return
    try {
      this.#onData(message.chunk)
    } catch (error) {
      this.error = error as Error
    }
  }
}
