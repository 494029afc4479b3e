/**
 * The main thread's longest stall during `fetchall()` of the 1M reference rows, measured as the
 * bench measures it (bench/monitor.ts):
 *
 *   node dist/bench/fetchall-stall.js [runs=5] [path=js|native]
 *
 * Prints one JSON line per run and the median. Run with --trace-gc to see which collection
 * coincides with the longest stall.
 */

import { openEngine } from './clients/sqlaio.js'
import { refDatabase } from './data.js'
import { measure } from './monitor.js'
import { SCAN_SQL } from './workloads/scan.js'

const runs = Number(process.argv[2] ?? 5)
const via = process.argv[3] === 'native' ? 'native' : 'js'
const engine = await openEngine(refDatabase(1_000_000), via)
const stalls: number[] = []
for (let i = 0; i < runs; i++) {
  const { figures } = await measure(async () => (await engine.execute(SCAN_SQL)).fetchall())
  stalls.push(figures.stallMs)
  console.log(
    JSON.stringify({ via, run: i, stallMs: +figures.stallMs.toFixed(1), wallMs: Math.round(figures.wallMs) }),
  )
}
await engine.dispose()
stalls.sort((a, b) => a - b)
console.log(
  JSON.stringify({
    via,
    medianStallMs: +(stalls[runs >> 1] ?? 0).toFixed(1),
    load: (await import('node:os')).loadavg(),
  }),
)
