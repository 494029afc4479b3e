/**
 * Two protocol exchanges `pg` has no API for, written as `pg` "submittables" (objects with a
 * `submit(connection)` method that the client queues like queries and feeds the messages of):
 * describing a statement without running it, and running one with binary results whose rows
 * the wire tap hands to sqlaio's decoder instead of `pg`'s parser.
 */
import type { BoundValue } from '../../thread/protocol.js'
import type { PgConnection, PgField } from './load.js'
import type { WireTap } from './wire-tap.js'

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
  handleCopyData(): void {}
}

/** Bytes of the Parse message of a text of `textBytes` UTF-8 bytes. */
const parseBytes = (textBytes: number): number => 1 + 4 + 1 + textBytes + 1 + 2

/**
 * Writes the Parse message of the unnamed statement (no parameter types) at the start of the
 * zero-filled `target`: the empty name and the text's terminator are its zeros. Returns its end.
 */
function writeParse(target: Buffer, text: string, textBytes: number): number {
  target[0] = 0x50 // 'P'
  target.writeInt32BE(parseBytes(textBytes) - 1, 1)
  target.write(text, 6, 'utf8')
  return parseBytes(textBytes)
}

/** Describe the unnamed statement ('D', 'S', ''), then Sync. */
const DESCRIBE_STATEMENT = Buffer.from([0x44, 0, 0, 0, 6, 0x53, 0, 0x53, 0, 0, 0, 4])

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
    const textBytes = Buffer.byteLength(this.#text, 'utf8')
    const messages = Buffer.alloc(parseBytes(textBytes) + DESCRIBE_STATEMENT.length)
    DESCRIBE_STATEMENT.copy(messages, writeParse(messages, this.#text, textBytes))
    connection.stream.write(messages)
  }

  override handleRowDescription(message: { fields: PgField[] }): void {
    this.fields = message.fields
  }

  override settle(error?: Error): void {
    this.#connection?.removeListener('parameterDescription', this.#onParams as (message: never) => void)
    super.settle(error)
  }
}

/** Describe the unnamed portal ('D', 'P', ''), Execute it for all rows ('E', '', 0), Sync. */
const PORTAL_TAIL = Buffer.from([
  0x44, 0, 0, 0, 6, 0x50, 0, 0x45, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0x53, 0, 0, 0, 4,
])

/**
 * The five messages of one portal run, in one buffer so that they reach the socket in one write
 * (five writes cost five syscalls and wake the server five times: about 60 µs of a `SELECT 1`).
 * Parse of the unnamed statement; Bind of the unnamed portal, parameters in text form (bytes in
 * binary form, as `pg` sends a Buffer) and the result format of each column (0 text, 1 binary; a
 * single code applies to every column); Describe of the portal; Execute of all its rows; Sync.
 */
export function portalMessages(
  text: string,
  values: readonly BoundValue[],
  resultFormats: readonly number[],
): Buffer {
  const encoded = values.map((value) =>
    value === null
      ? null
      : value instanceof Uint8Array
        ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
        : Buffer.from(String(value), 'utf8'),
  )
  const textBytes = Buffer.byteLength(text, 'utf8')
  let bindSize = 4 + 2 + 2 + 2 * values.length + 2 + 2 + 2 * resultFormats.length
  for (const value of encoded) bindSize += 4 + (value ? value.length : 0)
  const message = Buffer.alloc(parseBytes(textBytes) + 1 + bindSize + PORTAL_TAIL.length)
  let at = writeParse(message, text, textBytes)
  message[at] = 0x42 // 'B'
  message.writeInt32BE(bindSize, at + 1)
  // Portal and statement names: two empty strings (their NUL terminators are already 0).
  at += 7
  message.writeInt16BE(values.length, at)
  at += 2
  for (const value of values) {
    message.writeInt16BE(value instanceof Uint8Array ? 1 : 0, at)
    at += 2
  }
  message.writeInt16BE(values.length, at)
  at += 2
  for (const value of encoded) {
    message.writeInt32BE(value ? value.length : -1, at)
    at += 4
    if (value) at += value.copy(message, at)
  }
  message.writeInt16BE(resultFormats.length, at)
  at += 2
  for (const format of resultFormats) {
    message.writeInt16BE(format, at)
    at += 2
  }
  PORTAL_TAIL.copy(message, at)
  return message
}

/** What a Portal tells its reader as the server answers. */
export interface PortalEvents {
  /** The result's columns (the portal's RowDescription, before any row). */
  description(fields: PgField[]): void
  /** A row's binary body, read off the socket by the wire tap. */
  row(buf: Buffer, start: number, end: number): void
  /** The portal's ReadyForQuery, when it succeeded (a failure settles the exchange instead). */
  end(): void
}

/**
 * One statement through the extended protocol in one round trip: the messages of
 * `portalMessages` (binary results where a decoder exists). The rows bypass `pg`: the wire tap
 * hands them to `events.row` while this exchange is `pg`'s active query.
 */
export class Portal extends Exchange {
  readonly #messages: Buffer
  readonly #tap: WireTap
  readonly #events: PortalEvents
  constructor(messages: Buffer, tap: WireTap, events: PortalEvents) {
    super()
    this.#messages = messages
    this.#tap = tap
    this.#events = events
  }

  submit(connection: PgConnection): void {
    this.#tap.capture = (buf, start, end) => {
      if (this.error) return
      try {
        this.#events.row(buf, start, end)
      } catch (error) {
        this.error = error as Error
      }
    }
    connection.stream.write(this.#messages)
  }

  override handleRowDescription(message: { fields: PgField[] }): void {
    if (!this.error) this.#events.description(message.fields)
  }

  override handleReadyForQuery(): void {
    if (!this.error) this.#events.end()
    super.handleReadyForQuery()
  }

  override settle(error?: Error): void {
    this.#tap.capture = null
    super.settle(error)
  }
}
