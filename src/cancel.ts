/**
 * One call's cancellation: the caller's AbortSignal and its deadline (`timeoutMs`), combined
 * into a single trigger that fires at most once with the error the call must reject with.
 */
import { AbortError, TimeoutError } from './errors.js'

/**
 * What a call accepts to stop it early.
 *
 * @example
 * ```ts
 * const rows = await (await engine.execute(sql, [], { signal: request.signal, timeoutMs: 2_000 })).fetchall()
 * ```
 */
export interface CancelOptions {
  /** Aborts the call; it rejects with an AbortError whose `cause` is the signal's reason. */
  signal?: AbortSignal
  /** Deadline in milliseconds; past it the call rejects with a TimeoutError. 0 means none. */
  timeoutMs?: number
}

export class Cancel {
  readonly #signal: AbortSignal | undefined
  readonly #onSignal: (() => void) | null = null
  #timer: NodeJS.Timeout | null = null
  #error: AbortError | null = null
  #listeners: ((error: AbortError) => void)[] = []

  private constructor(signal: AbortSignal | undefined, timeoutMs: number) {
    this.#signal = signal
    if (signal?.aborted) {
      this.#error = new AbortError(signal.reason)
      return
    }
    if (signal) {
      this.#onSignal = () => this.#fire(new AbortError(signal.reason))
      signal.addEventListener('abort', this.#onSignal, { once: true })
    }
    if (timeoutMs > 0) {
      // Unref'd: a deadline alone must not keep the process alive (the pending call does).
      this.#timer = setTimeout(() => this.#fire(new TimeoutError(timeoutMs)), timeoutMs)
      this.#timer.unref()
    }
  }

  /** A Cancel for these options, or null when there is nothing that could cancel the call. */
  static from(options: CancelOptions | undefined, defaultTimeoutMs = 0): Cancel | null {
    const signal = options?.signal
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError('option "signal" must be an AbortSignal')
    }
    const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
      throw new RangeError(
        `option "timeoutMs" must be a non-negative number of milliseconds, got ${timeoutMs}`,
      )
    }
    if (!signal && timeoutMs === 0) return null
    return new Cancel(signal, timeoutMs)
  }

  /** The error to reject with, once cancelled; null before. */
  get error(): AbortError | null {
    return this.#error
  }

  /**
   * Calls `listener` when the call is cancelled (at once if it already is). Returns a function
   * that removes the listener, for callers that watch many short waits with one Cancel.
   */
  onCancel(listener: (error: AbortError) => void): () => void {
    if (this.#error) {
      listener(this.#error)
      return () => {}
    }
    this.#listeners.push(listener)
    return () => {
      const at = this.#listeners.indexOf(listener)
      if (at >= 0) this.#listeners.splice(at, 1)
    }
  }

  #fire(error: AbortError): void {
    if (this.#error) return
    this.#error = error
    const listeners = this.#listeners
    this.dispose()
    for (const listener of listeners) listener(error)
  }

  /** Stops watching the signal and the deadline (the call settled). */
  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    if (this.#onSignal) this.#signal?.removeEventListener('abort', this.#onSignal)
    this.#listeners = []
  }
}
