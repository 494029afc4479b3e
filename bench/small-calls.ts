/**
 * `npm run bench:small` (`--quick` for fewer calls and rounds): the cost of a small call.
 * `SELECT 1` awaited call after call on one connection: the round trip (median) and the main
 * thread's CPU per call (event-loop active time ÷ calls), for sqlaio over each transport and
 * path, against a plain worker answering by postMessage. The contenders take turns within each
 * round, so that a change in the machine's load hits them all; the table shows the median over
 * the rounds and their range, and is written to bench/results/small-calls.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import * as sqlaio from '../src/index.js'
import { plainWorker } from './clients/executor.js'
import { nativeAvailable } from './clients/sqlaio.js'

const quick = process.argv.includes('--quick')
const CALLS = quick ? 5_000 : 20_000
const WARMUP = quick ? 1_000 : 3_000
const ROUNDS = quick ? 3 : 5
const SQL = 'SELECT 1'
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url))

interface Figures {
  medianUs: number
  /** Event-loop active time ÷ calls: includes time the main thread was runnable but preempted. */
  cpuPerCallUs: number
  /** Time the main thread actually ran on a CPU ÷ calls (Linux schedstat; NaN elsewhere). */
  onCpuPerCallUs: number
}

/** Nanoseconds the main thread has run on a CPU (its first schedstat field); NaN if unknown. */
function mainThreadOnCpuNs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])
  } catch {
    return Number.NaN
  }
}

interface Contender {
  name: string
  open(): Promise<{ call(): Promise<unknown>; close(): Promise<void> }>
}

/** Times `CALLS` sequential calls after a warm-up. */
async function measure(call: () => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < WARMUP; i++) await call()
  const latencies = new Float64Array(CALLS)
  const before = performance.eventLoopUtilization()
  const onCpuBefore = mainThreadOnCpuNs()
  for (let i = 0; i < CALLS; i++) {
    const start = performance.now()
    await call()
    latencies[i] = performance.now() - start
  }
  const elu = performance.eventLoopUtilization(before)
  const onCpuNs = mainThreadOnCpuNs() - onCpuBefore
  latencies.sort()
  return {
    medianUs: (latencies[CALLS >> 1] as number) * 1000,
    cpuPerCallUs: (elu.active * 1000) / CALLS,
    onCpuPerCallUs: onCpuNs / 1000 / CALLS,
  }
}

function sqlaioContender(path: string, transport: 'port' | 'ring', native: boolean): Contender {
  return {
    name: `sqlaio ${native ? 'native' : 'JS'}, ${transport}`,
    async open() {
      // Read when a worker starts: this engine's workers use `transport`.
      process.env.SQLAIO_TRANSPORT = transport
      const engine = sqlaio.createEngine(`sqlite:///${path}`, {
        readonly: true,
        native: native ? 'require' : 'off',
      })
      const conn = await engine.connect()
      return {
        call: async () => (await conn.execute(SQL)).fetchall(),
        async close() {
          await conn.close()
          await engine.dispose()
        },
      }
    },
  }
}

function baseline(path: string): Contender {
  return {
    name: 'worker + postMessage',
    async open() {
      const executor = plainWorker(path)
      return { call: () => executor.all(SQL), close: () => executor.close() }
    },
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[sorted.length >> 1] as number
}

const cell = (values: number[]): string =>
  `${median(values).toFixed(1)} µs (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})`

async function main(): Promise<void> {
  const path = join(tmpdir(), `sqlaio-small-calls-${process.pid}.db`)
  new Database(path).close()
  const contenders = [baseline(path)]
  for (const native of nativeAvailable() ? [false, true] : [false]) {
    for (const transport of ['port', 'ring'] as const)
      contenders.push(sqlaioContender(path, transport, native))
  }
  const runs = new Map<string, Figures[]>(contenders.map((c) => [c.name, []]))
  const load = loadavg()[0]!
  for (let round = 0; round < ROUNDS; round++) {
    for (const contender of contenders) {
      const opened = await contender.open()
      runs.get(contender.name)!.push(await measure(opened.call))
      await opened.close()
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`)
  }
  const base = median(runs.get('worker + postMessage')!.map((f) => f.medianUs))
  const lines = [
    `${CALLS} calls of \`${SQL}\` after ${WARMUP} warm-up calls, ${ROUNDS} rounds; ${cpus().length} CPUs,` +
      ` load average ${load.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}.`,
    '',
    '| contender | round trip, median | × worker+postMessage | main-thread CPU per call (event-loop active) | main thread on CPU per call |',
    '|---|---|---|---|---|',
  ]
  for (const [name, figures] of runs) {
    const trips = figures.map((f) => f.medianUs)
    lines.push(
      `| ${name} | ${cell(trips)} | ${(median(trips) / base).toFixed(2)} | ${cell(figures.map((f) => f.cpuPerCallUs))} | ${cell(figures.map((f) => f.onCpuPerCallUs))} |`,
    )
  }
  lines.push(
    '',
    'Budgets: round trip ≤ 0.5 × worker+postMessage; main-thread CPU per call ≤ 8 µs. Event-loop' +
      ' active time also counts time the main thread waited for a core (on a loaded machine, often' +
      ' right after it woke its worker); the last column is its own CPU time (schedstat).',
  )
  const table = lines.join('\n')
  console.log(table)
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(join(RESULTS_DIR, quick ? 'small-calls-quick.md' : 'small-calls.md'), `${table}\n`)
}

await main()
