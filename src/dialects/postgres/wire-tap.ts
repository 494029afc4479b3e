/**
 * A framing layer between the socket and `pg`'s protocol parser. `pg` decodes every DataRow
 * field as a UTF-8 string, which corrupts binary results and costs an object per value; the tap
 * cuts the byte stream into protocol messages ([code:1][length:4][body]) and hands the DataRow
 * messages of sqlaio's own queries straight to their decoder, forwarding everything else to
 * `pg` unchanged (whole messages, in order).
 *
 * It also carries backpressure: `pause()` stops dispatching at a message boundary (the rest of
 * the chunk waits here) and pauses the socket; the server then blocks on its send buffer.
 */

/** Receives a captured message: `buf[start, end)` is its body (after code and length). */
export type Capture = (buf: Buffer, start: number, end: number) => void

const DATA_ROW = 0x44 // 'D'

interface TappableStream {
  listeners(event: 'data'): ((chunk: Buffer) => void)[]
  removeListener(event: 'data', listener: (chunk: Buffer) => void): void
  on(event: 'data', listener: (chunk: Buffer) => void): void
  pause(): void
  resume(): void
}

export class WireTap {
  readonly #stream: TappableStream
  readonly #forward: ((chunk: Buffer) => void)[]
  /** Bytes received and not dispatched yet: an incomplete message, or the rest after a pause. */
  #pending: Buffer[] = []
  #pendingBytes = 0
  #paused = false
  /** Where DataRow messages go; null: to `pg`. */
  capture: Capture | null = null

  /** Installs the tap in front of the `data` listeners already on `stream` (`pg`'s parser). */
  constructor(stream: TappableStream) {
    this.#stream = stream
    this.#forward = stream.listeners('data')
    for (const listener of this.#forward) stream.removeListener('data', listener)
    stream.on('data', (chunk) => this.#receive(chunk))
  }

  /** Stops dispatching after the current message and pauses the socket. */
  pause(): void {
    if (this.#paused) return
    this.#paused = true
    this.#stream.pause()
  }

  /** Dispatches what waited, then resumes the socket (unless a handler paused again). */
  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    if (this.#pendingBytes > 0) this.#receive(null)
    if (!this.#paused) this.#stream.resume()
  }

  #send(chunk: Buffer): void {
    for (const listener of this.#forward) listener(chunk)
  }

  #receive(chunk: Buffer | null): void {
    if (chunk) {
      this.#pending.push(chunk)
      this.#pendingBytes += chunk.length
    }
    while (!this.#paused && this.#pendingBytes >= 5) {
      if (this.#pending.length > 1) {
        // A message straddles chunks: join its own bytes only (a socket chunk usually ends inside
        // a row), then go on with the rest of the chunks where they are. Joining whole chunks
        // would copy every byte of a large result once more, into fresh memory.
        const length = 1 + this.#pendingInt32(1)
        if (this.#pendingBytes < length) return
        this.#dispatch(this.#takePending(length))
        continue
      }
      const buf = this.#pending[0]!
      this.#pending = []
      this.#pendingBytes = 0
      const off = this.#dispatch(buf)
      if (off < buf.length) {
        this.#pending.push(buf.subarray(off))
        this.#pendingBytes = buf.length - off
      }
      return
    }
  }

  /** The big-endian Int32 at byte `at` of the pending bytes (which has them), across chunks. */
  #pendingInt32(at: number): number {
    let value = 0
    let piece = 0
    let offset = at
    for (let i = 0; i < 4; i++) {
      while (offset >= this.#pending[piece]!.length) offset -= this.#pending[piece++]!.length
      value = (value << 8) | this.#pending[piece]![offset++]!
    }
    return value | 0
  }

  /** Removes the first `length` pending bytes and returns them in one buffer. */
  #takePending(length: number): Buffer {
    const out = Buffer.allocUnsafe(length)
    let filled = 0
    while (filled < length) {
      const piece = this.#pending[0]!
      const take = Math.min(piece.length, length - filled)
      piece.copy(out, filled, 0, take)
      filled += take
      if (take === piece.length) this.#pending.shift()
      else this.#pending[0] = piece.subarray(take)
    }
    this.#pendingBytes -= length
    return out
  }

  /**
   * Dispatches the whole messages at the start of `buf` (until one is incomplete, or a handler
   * pauses the tap): DataRows of a query of ours to its capture, everything else to `pg`.
   * Returns where it stopped.
   */
  #dispatch(buf: Buffer): number {
    let off = 0
    /** Start of the messages not yet forwarded to `pg`. */
    let from = 0
    while (off + 5 <= buf.length) {
      const end = off + 1 + buf.readInt32BE(off + 1)
      if (end > buf.length) break
      if (buf[off] === DATA_ROW && this.capture) {
        if (from < off) this.#send(buf.subarray(from, off))
        // Forwarding may have ended our query (a handler cleared the capture): look again.
        const capture = this.capture
        if (capture) {
          capture(buf, off + 5, end)
          from = end
        } else from = off
      } else if (this.capture && buf[off] !== DATA_ROW) {
        // While a query of ours runs, a message may pause the tap (a RowDescription, say):
        // forward message by message so that the pause lands at the right boundary.
        this.#send(buf.subarray(from, end))
        from = end
      }
      off = end
      if (this.#paused) break
    }
    if (from < off) this.#send(buf.subarray(from, off))
    return off
  }
}
