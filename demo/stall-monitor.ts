/**
 * Measures the main thread's longest stall: the largest gap between ticks of a 1 ms interval,
 * minus the interval itself. Measuring starts only after the first tick, so start-up is excluded.
 */
export class StallMonitor {
  #timer: NodeJS.Timeout | null = null
  #last = 0
  #longest = 0

  /** Resolves once the monitor has ticked. */
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.#timer = setInterval(() => {
        const now = performance.now()
        if (this.#last === 0) resolve()
        else this.#longest = Math.max(this.#longest, now - this.#last - 1)
        this.#last = now
      }, 1)
    })
  }

  /** Stops and returns the longest stall in milliseconds (including the gap to now). */
  stop(): number {
    if (this.#timer) clearInterval(this.#timer)
    this.#longest = Math.max(this.#longest, performance.now() - this.#last - 1)
    return Math.max(0, this.#longest)
  }
}
