/**
 * Measures one run of a contender from the main thread's point of view: wall time, how busy
 * the main thread was, its longest stall, event-loop delay, the CPU time of the whole process
 * and its peak RSS.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'

export interface RunFigures {
  /** Wall time of the run, ms. */
  wallMs: number
  /** Time the main thread's event loop was active during the run, ms. */
  busyMs: number
  /** CPU time of the whole process (every thread, user and system) during the run, ms. */
  cpuMs: number
  /** Longest gap between ticks of a 1 ms interval (or to the end of the run), ms. */
  stallMs: number
  /** 99th percentile of event-loop delay during the run, ms. */
  eldP99Ms: number
  /** Peak RSS of the whole process (worker threads included) above its RSS at the start, MB. */
  peakRssMb: number
}

const MB = 1024 * 1024
const ELD_RESOLUTION_MS = 1
const nextTick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1))

/**
 * Linux can reset the process's RSS high-water mark (VmHWM) by writing 5 to clear_refs, which
 * catches peaks the interval cannot see because the main thread was blocked. Elsewhere we fall
 * back to sampling RSS on each tick and at the end.
 */
const peakRss = {
  reset(): boolean {
    try {
      writeFileSync('/proc/self/clear_refs', '5')
      return true
    } catch {
      return false
    }
  },
  read(): number {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
    return Number(match?.[1]) * 1024
  },
}

/**
 * Runs `fn` once under the monitors. `fn`'s value stays referenced until RSS has been read, so a
 * contender that materialises its result is charged for it.
 */
export async function measure<T>(fn: () => Promise<T> | T): Promise<{ figures: RunFigures; value: T }> {
  globalThis.gc?.()
  const exactPeak = peakRss.reset()
  const rssStart = process.memoryUsage.rss()
  let sampledPeak = rssStart
  let last = 0
  let longest = 0
  let ticked: () => void = () => {}
  const firstTick = new Promise<void>((resolve) => (ticked = resolve))
  const interval = setInterval(() => {
    const now = performance.now()
    if (last !== 0) longest = Math.max(longest, now - last)
    last = now
    if (!exactPeak) sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss())
    ticked()
  }, 1)
  const delay = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS })
  delay.enable()
  // Gaps count only once the monitor runs, so its own start-up is not charged to the contender.
  await firstTick
  // The delay histogram records from its second tick on (the first only sets its clock): wait
  // for a first sample, or a block starting right away would go unrecorded. The idle sample this
  // adds is near zero on a quiet machine; it weighs only on runs too short for samples of their own.
  while (delay.count === 0) await nextTick()
  const elu = performance.eventLoopUtilization()
  const cpu = process.cpuUsage()
  const start = performance.now()
  last = start
  longest = 0
  const value = await fn()
  const end = performance.now()
  const busy = performance.eventLoopUtilization(elu)
  const cpuUsed = process.cpuUsage(cpu)
  // Frozen here: ticks after the end belong to no one.
  const stall = Math.max(longest, end - last)
  // One more turn of the loop lets the delay histogram record a block that just ended.
  await nextTick()
  clearInterval(interval)
  delay.disable()
  const peak = exactPeak ? peakRss.read() : Math.max(sampledPeak, process.memoryUsage.rss())
  return {
    value,
    figures: {
      wallMs: end - start,
      busyMs: busy.active,
      cpuMs: (cpuUsed.user + cpuUsed.system) / 1000,
      stallMs: stall,
      // The histogram holds the intervals between its timer's callbacks; the delay is the excess
      // over the timer's 1 ms period.
      eldP99Ms: Math.max(0, delay.percentile(99) / 1e6 - ELD_RESOLUTION_MS),
      peakRssMb: Math.max(0, peak - rssStart) / MB,
    },
  }
}
