/**
 * The report of `npm run bench:service`: how it was measured, the budget verdicts, and a table of
 * medians (min–max) over the rounds, with ratios to the better-sqlite3 server taken round by round.
 */
import { judge, type Rule, type Verdict } from '../budgets.js'
import type { ServerConfig } from '../service-server.js'
import { roundRatios, type Summary, summarize } from '../stats.js'
import { range } from './format.js'
import { table, verdictTable } from './markdown.js'

type Backend = ServerConfig['backend']

export interface ServiceSettings {
  /** Length of each measurement, and of the warm-up before them, s. */
  seconds: number
  warmupSeconds: number
  rounds: number
  lookupClients: number
  reportClients: number
  /** Connections of a sqlaio server. */
  poolSize: number
  reportRows: number
}

/** One server's figures in one round. */
export interface ServiceRun {
  alone: { lookupsPerSec: number; p99Ms: number }
  withReports: { lookupsPerSec: number; p99Ms: number; reportsPerSec: number }
}

export interface ServiceBench {
  command: string
  machine: string
  settings: ServiceSettings
  runs: Map<Backend, ServiceRun[]>
}

const NAMES: Record<Backend, string> = {
  sync: 'better-sqlite3 (main thread)',
  js: 'sqlaio',
  native: 'sqlaio native',
}

type Pick = (run: ServiceRun) => number
const lookupsAlone: Pick = (run) => run.alone.lookupsPerSec
const p99Alone: Pick = (run) => run.alone.p99Ms
const lookupsMixed: Pick = (run) => run.withReports.lookupsPerSec
const p99Mixed: Pick = (run) => run.withReports.p99Ms
const reports: Pick = (run) => run.withReports.reportsPerSec

function method({ settings: s, command, machine }: ServiceBench): string {
  return [
    `Made by \`${command}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${machine}.`,
    `Each server runs in a child process on 127.0.0.1; autocannon, in the parent process on the same ` +
      `cores, drives it for ${s.seconds} s per measurement with ${s.lookupClients} connections requesting ` +
      '`/lookup?id=N` (a random primary key of the 1M reference rows, one request at a time per ' +
      `connection), first alone, then while ${s.reportClients} more connections request \`/report\` ` +
      `over and over (the first ${s.reportRows / 1000}k rows read as row objects, answered with their ` +
      `count). The sqlaio servers hand requests to a fixed pool of ${s.poolSize} connections of one ` +
      'engine. Each server is started afresh for each round and warmed up for ' +
      `${s.warmupSeconds} s under the mixed load; ${s.rounds} ${s.rounds === 1 ? 'round' : 'rounds'}, ` +
      "the servers' order rotating. " +
      'Figures are medians (min–max) over the rounds; ratios are taken round by round against the ' +
      'better-sqlite3 server; autocannon measures latency in whole milliseconds.',
  ].join('\n\n')
}

function verdicts(bench: ServiceBench, vsSync: (backend: Backend, pick: Pick) => Summary): Verdict[] {
  const budgets: [string, (backend: Backend) => Summary, string, number, Rule][] = [
    [
      'lookups alone, throughput ≥ 0.9 × the better-sqlite3 server',
      (backend) => vsSync(backend, lookupsAlone),
      '×',
      0.9,
      { atLeast: true },
    ],
    [
      `with ${bench.settings.reportClients} report clients, lookup p99 ≤ 20 ms`,
      (backend) => summarize(bench.runs.get(backend)!.map(p99Mixed)),
      ' ms',
      20,
      {},
    ],
    [
      `with ${bench.settings.reportClients} report clients, reports/s ≥ 5 × the better-sqlite3 server`,
      (backend) => vsSync(backend, reports),
      '×',
      5,
      { atLeast: true },
    ],
  ]
  const sqlaio = [...bench.runs.keys()].filter((backend) => backend !== 'sync')
  return budgets.flatMap(([budget, figure, unit, limit, rule]) =>
    sqlaio.map((backend) => ({
      budget,
      contender: NAMES[backend],
      ...judge(figure(backend), unit, limit, rule),
    })),
  )
}

export function serviceMarkdown(bench: ServiceBench): string {
  const sync = bench.runs.get('sync')!
  const vsSync = (backend: Backend, pick: Pick) =>
    roundRatios(bench.runs.get(backend)!.map(pick), sync.map(pick))
  const columns: [string, Pick, boolean][] = [
    ['lookups/s alone', lookupsAlone, true],
    ['p99 ms alone', p99Alone, false],
    ['lookups/s with reports', lookupsMixed, true],
    ['p99 ms with reports', p99Mixed, false],
    ['reports/s', reports, true],
  ]
  const heads = [
    'server',
    ...columns.flatMap(([head, , ratio]) => (ratio ? [head, '× better-sqlite3'] : [head])),
  ]
  const rows = [...bench.runs].map(([backend, runs]) => [
    NAMES[backend],
    ...columns.flatMap(([, pick, ratio]) => {
      const cell = range(summarize(runs.map(pick)))
      if (!ratio) return [cell]
      return [cell, backend === 'sync' ? 'baseline' : range(vsSync(backend, pick))]
    }),
  ])
  const parts = [
    '## HTTP service: point lookups, alone and beside reports',
    method(bench),
    '### Budgets',
    verdictTable(verdicts(bench, vsSync)),
    '### Figures',
    table(heads, rows),
  ]
  return `${parts.join('\n\n')}\n`
}
