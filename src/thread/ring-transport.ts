/**
 * The shared-memory transport: the common messages travel as bytes through two rings (one per
 * direction) in a SharedArrayBuffer the channel owns; what has no byte encoding or does not fit
 * (runInWorker calls, errors, large batches, a full ring) goes through the MessagePort as before.
 * A full ring therefore never blocks the sender.
 *
 * Order. Every message in a direction gets the next sequence number (a wrapping u32), whichever
 * way it travels: a ring record carries it in its header, a port message travels as `[seq,
 * message]`. Each way is FIFO on its own, so the receiver merges the two by sequence number: it
 * takes the ring's oldest record or the port's oldest message, whichever carries the number it
 * expects next, and stops when neither does yet (that message is being published; its bell will
 * ring). It holds at most one port message that came early.
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads'
import { Decoder, decodeReply, Encoder, encodeReply, RequestDecoder, RequestEncoder } from './codec.js'
import type { Reply, Request } from './protocol.js'
import { RingReader, RingWriter, ringBytes } from './ring.js'
import { BellTransport, MAIN_SIDE, type Side, WORKER_SIDE } from './transport.js'

/** Data bytes of each ring (powers of two). Replies carry small batches, so theirs is larger. */
const REQUEST_RING_BYTES = 64 * 1024
const REPLY_RING_BYTES = 256 * 1024

/** The buffer holding both rings of one worker: requests first, then replies. */
export function allocateRings(): SharedArrayBuffer {
  return new SharedArrayBuffer(ringBytes(REQUEST_RING_BYTES) + ringBytes(REPLY_RING_BYTES))
}

type Sequenced<M> = [seq: number, message: M]

abstract class RingTransport<Out, In> extends BellTransport<Out, In> {
  readonly #writer: RingWriter
  readonly #reader: RingReader
  readonly #encoder: Encoder
  readonly #decoder: Decoder
  #sent = 0
  #expected = 0
  /** A port message that arrived ahead of its turn (ring records before it are unread). */
  #early: Sequenced<In> | null = null

  constructor(control: Int32Array, port: MessagePort, rings: SharedArrayBuffer, side: Side) {
    super(control, port, side)
    const requests = [0, REQUEST_RING_BYTES] as const
    const replies = [ringBytes(REQUEST_RING_BYTES), REPLY_RING_BYTES] as const
    const [out, into] = side === MAIN_SIDE ? [requests, replies] : [replies, requests]
    this.#writer = new RingWriter(rings, out[0], out[1])
    this.#reader = new RingReader(rings, into[0], into[1])
    this.#encoder = new Encoder(this.#writer.maxPayload)
    this.#decoder = new Decoder(this.#reader.bytes)
  }

  /** Encodes `message` into `encoder`; false when it must go through the port. */
  protected abstract encode(encoder: Encoder, message: Out): boolean
  /** The ring record was written: whatever the encoding assumed is now true for the peer. */
  protected abstract committed(): void
  protected abstract decode(decoder: Decoder): In

  send(message: Out): void {
    const seq = this.#sent
    this.#sent = (seq + 1) >>> 0
    const encoder = this.#encoder
    if (this.encode(encoder, message) && this.#writer.write(seq, encoder.bytes, encoder.at)) {
      this.committed()
    } else {
      const sequenced: Sequenced<Out> = [seq, message]
      try {
        this.port.postMessage(sequenced)
      } catch (error) {
        // Nothing was sent (a value structured clone refuses): give the number back, or the
        // receiver would wait for it forever.
        this.#sent = seq
        throw error
      }
    }
    this.ring()
  }

  drain(deliver: (message: In) => void): void {
    this.awake()
    const reader = this.#reader
    for (;;) {
      const expected = this.#expected
      let message: In
      if (reader.peek() && reader.seq === expected) {
        this.#decoder.at = reader.at
        message = this.decode(this.#decoder)
        reader.consume()
      } else {
        if (this.#early === null) {
          const received = receiveMessageOnPort(this.port)
          if (received) this.#early = received.message as Sequenced<In>
        }
        if (this.#early === null || this.#early[0] !== expected) return
        message = this.#early[1]
        this.#early = null
      }
      this.#expected = (expected + 1) >>> 0
      deliver(message)
    }
  }
}

/** The main thread's end: requests out, replies in. */
export class MainRingTransport extends RingTransport<Request, Reply> {
  readonly #requests = new RequestEncoder()

  constructor(control: Int32Array, port: MessagePort, rings: SharedArrayBuffer) {
    super(control, port, rings, MAIN_SIDE)
  }

  protected encode(encoder: Encoder, request: Request): boolean {
    return this.#requests.encode(encoder, request)
  }

  protected committed(): void {
    this.#requests.commit()
  }

  protected decode(decoder: Decoder): Reply {
    return decodeReply(decoder)
  }
}

/** The worker's end: replies out, requests in. */
export class WorkerRingTransport extends RingTransport<Reply, Request> {
  readonly #requests = new RequestDecoder()

  constructor(control: Int32Array, port: MessagePort, rings: SharedArrayBuffer) {
    super(control, port, rings, WORKER_SIDE)
  }

  protected encode(encoder: Encoder, reply: Reply): boolean {
    return encodeReply(encoder, reply)
  }

  protected committed(): void {}

  protected decode(decoder: Decoder): Request {
    return this.#requests.decode(decoder)
  }
}
