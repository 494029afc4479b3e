/**
 * The progress line on stderr: rows, rows per second, bytes written and elapsed time,
 * redrawn in place at most every 100 ms. Only for a terminal: when stderr is piped or
 * redirected, nothing is drawn at all.
 */

const REDRAW_MS = 100

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}

const count = new Intl.NumberFormat('en-US')

export class Progress {
  readonly #stream: NodeJS.WriteStream | null
  readonly #started = performance.now()
  #rows = 0
  #bytes = 0
  #drawnAt = 0
  #shown = false

  /** A progress line on `stream`, or one that draws nothing when it is not a terminal. */
  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream.isTTY ? stream : null
  }

  update(rows: number, bytes: number): void {
    this.#rows = rows
    this.#bytes = bytes
    const now = performance.now()
    if (this.#stream && now - this.#drawnAt >= REDRAW_MS) {
      this.#drawnAt = now
      this.#draw(now)
    }
  }

  #line(now: number): string {
    const seconds = (now - this.#started) / 1000
    const rate = seconds > 0 ? Math.round(this.#rows / seconds) : 0
    return `${count.format(this.#rows)} rows · ${count.format(rate)} rows/s · ${formatBytes(this.#bytes)} · ${seconds.toFixed(1)} s`
  }

  #draw(now: number): void {
    this.#stream!.write(`\r\x1b[K${this.#line(now)}`)
    this.#shown = true
  }

  /** Removes the line (before other output goes to the same terminal). */
  clear(): void {
    if (this.#stream && this.#shown) this.#stream.write('\r\x1b[K')
    this.#shown = false
  }

  /** Replaces the line with a final summary (terminal only). */
  done(): void {
    if (!this.#stream) return
    this.clear()
    this.#stream.write(`${this.#line(performance.now())}\n`)
  }
}
