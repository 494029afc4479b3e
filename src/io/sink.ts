/**
 * Where a writer's bytes go: a file path (created or truncated, removed again if the write
 * fails) or a Node Writable stream, written with backpressure: the writer awaits each chunk, so
 * no more than one chunk waits in memory however slow the destination is.
 */
import { type FileHandle, open, rm } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'

/**
 * A file path (string or `file:` URL) or a Writable stream (a file stream, stdout, an HTTP response).
 *
 * @example
 * ```ts
 * await result.writeCSV('out.csv')                      // a path
 * await result.writeNDJSON(response)                    // an http.ServerResponse, ended after
 * ```
 */
export type Destination = string | URL | NodeJS.WritableStream | Writable

/**
 * Options every writer accepts about its destination.
 *
 * @example
 * ```ts
 * await result.writeNDJSON(process.stdout, { end: false })
 * ```
 */
export interface SinkOptions {
  /**
   * For a stream destination: end it when the write is done (default true, as `pipeline` does).
   * Pass false to keep writing to it afterwards (stdout, a multipart response).
   */
  end?: boolean
}

/** An open destination. `bytes` counts what was written so far. */
export interface Sink {
  readonly bytes: number
  write(chunk: Uint8Array): Promise<void>
  /** Flushes and closes (or ends) the destination. */
  finish(): Promise<void>
  /** Closes after a failure; a file path is removed rather than left half written. */
  fail(): Promise<void>
}

function isWritable(value: unknown): value is NodeJS.WritableStream {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NodeJS.WritableStream).write === 'function' &&
    typeof (value as NodeJS.WritableStream).on === 'function'
  )
}

class FileSink implements Sink {
  bytes = 0
  constructor(
    private readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    let at = 0
    while (at < chunk.byteLength) {
      const { bytesWritten } = await this.handle.write(chunk, at, chunk.byteLength - at)
      at += bytesWritten
    }
    this.bytes += chunk.byteLength
  }

  async finish(): Promise<void> {
    await this.handle.close()
  }

  async fail(): Promise<void> {
    await this.handle.close().catch(() => {})
    await rm(this.path, { force: true })
  }
}

class StreamSink implements Sink {
  bytes = 0
  #error: Error | null = null
  readonly #onError = (error: Error): void => {
    this.#error ??= error
  }

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly end: boolean,
  ) {
    // Listening turns the stream's 'error' event into a rejected write instead of a crash.
    stream.on('error', this.#onError)
  }

  #check(): void {
    if (this.#error) throw this.#error
    const state = this.stream as Partial<Writable>
    if (state.destroyed || state.writableEnded) {
      throw new Error('the destination stream was closed before the write finished')
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#check()
    this.bytes += chunk.byteLength
    if (this.stream.write(chunk)) return
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => {
        this.stream.off('drain', onDrain)
        this.stream.off('error', onFail)
        this.stream.off('close', onClose)
        if (error) reject(error)
        else resolve()
      }
      const onDrain = (): void => done()
      const onFail = (error: Error): void => done(error)
      const onClose = (): void =>
        done(this.#error ?? new Error('the destination stream was closed before the write finished'))
      this.stream.on('drain', onDrain)
      this.stream.on('error', onFail)
      this.stream.on('close', onClose)
    })
  }

  async finish(): Promise<void> {
    try {
      this.#check()
      if (!this.end) return
      await new Promise<void>((resolve, reject) => {
        this.stream.once('error', reject)
        this.stream.end(() => {
          this.stream.off('error', reject)
          resolve()
        })
      })
    } finally {
      this.stream.off('error', this.#onError)
    }
  }

  async fail(): Promise<void> {
    this.stream.off('error', this.#onError)
  }
}

/** Opens `destination` for writing. */
export async function openSink(destination: Destination, options: SinkOptions | undefined): Promise<Sink> {
  if (typeof destination === 'string' || destination instanceof URL) {
    const path = destination instanceof URL ? fileURLToPath(destination) : destination
    return new FileSink(path, await open(path, 'w'))
  }
  if (isWritable(destination)) return new StreamSink(destination, options?.end ?? true)
  throw new TypeError(
    `destination must be a file path, a file: URL or a Writable stream, got ${destination === null ? 'null' : typeof destination}`,
  )
}
