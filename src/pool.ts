/**
 * Idle connection workers kept for reuse: a closed connection's worker (transaction rolled back,
 * statement cache kept) waits here for the next `connect()`, up to `poolSize` of them, each for
 * at most `idleTimeoutMs`. Idle workers are unref'd, and so are their timers: a pool never keeps
 * the process alive.
 */
import type { WorkerChannel } from './thread/channel.js'

interface Idle {
  channel: WorkerChannel
  timer: NodeJS.Timeout
}

export class WorkerPool {
  readonly #idle: Idle[] = []
  readonly #size: number
  readonly #idleTimeoutMs: number

  constructor(size: number, idleTimeoutMs: number) {
    this.#size = size
    this.#idleTimeoutMs = idleTimeoutMs
  }

  /** The most recently returned healthy worker, or null. */
  take(): WorkerChannel | null {
    for (;;) {
      const idle = this.#idle.pop()
      if (!idle) return null
      clearTimeout(idle.timer)
      if (!idle.channel.failure) return idle.channel
    }
  }

  /** Keeps `channel` for reuse, or ends it when the pool is full. */
  put(channel: WorkerChannel): void {
    if (this.#idle.length >= this.#size || channel.failure) {
      void channel.stop()
      return
    }
    const idle: Idle = {
      channel,
      timer: setTimeout(() => {
        const at = this.#idle.indexOf(idle)
        if (at >= 0) this.#idle.splice(at, 1)
        void channel.stop()
      }, this.#idleTimeoutMs),
    }
    idle.timer.unref()
    this.#idle.push(idle)
  }

  /** Ends every idle worker. */
  async clear(): Promise<void> {
    const idle = this.#idle.splice(0)
    await Promise.all(
      idle.map(({ channel, timer }) => {
        clearTimeout(timer)
        return channel.stop()
      }),
    )
  }
}
