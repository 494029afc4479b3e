/**
 * `npm run bench:service` (`--quick`: shorter measurements, one round): an HTTP service over the
 * 1M reference rows (bench/service-server.ts, in a child process), served by better-sqlite3 on the
 * main thread, by sqlaio's JS path and by its native path. autocannon, from this process, drives
 * each server with 16 connections doing point lookups by random primary key: (a) alone, then (b)
 * while 2 more connections fetch the report over and over. Each server is started afresh, checked
 * (the same lookup answer from every backend, the report's row count) and warmed up under the mixed
 * load; the servers take turns in each round, the order rotating. Figures: lookups/s and their p99,
 * reports completed per second, and their ratios to the better-sqlite3 server of the same round.
 * Writes bench/results/service.md and service.json (service-quick.* with `--quick`).
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import autocannon from 'autocannon'
import { sqlaioPaths } from './clients/sqlaio.js'
import { rotated } from './contender.js'
import { prng, refDatabase } from './data.js'
import { type ServiceRun, type ServiceSettings, serviceMarkdown } from './report/service.js'
import { RESULTS_DIR } from './report/write.js'
import { describeMachine } from './run-case.js'
import type { ServerConfig } from './service-server.js'

const quick = process.argv.includes('--quick')
const ROWS = 1_000_000
const settings: ServiceSettings = {
  seconds: quick ? 3 : 10,
  warmupSeconds: quick ? 1 : 2,
  rounds: quick ? 1 : 3,
  lookupClients: 16,
  reportClients: 2,
  poolSize: 4,
  reportRows: 200_000,
}

/** Starts a server; `stop` ends its process. */
async function startServer(config: ServerConfig): Promise<{ url: string; stop(): Promise<void> }> {
  const child = fork(new URL('./service-server.js', import.meta.url), [JSON.stringify(config)])
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port))
    child.once('exit', (code) => reject(new Error(`${config.backend} server exited with code ${code}`)))
  })
  const stop = async () => {
    const exited = once(child, 'exit')
    child.kill()
    await exited
  }
  return { url: `http://127.0.0.1:${port}`, stop }
}

/** `connections` clients requesting `path()` one request after another for `seconds`; any error fails. */
async function drive(url: string, connections: number, seconds: number, path: () => string) {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: path() }) }],
  })
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} answers other than 2xx`)
  }
  return { perSec: result['2xx'] / result.duration, p99Ms: result.latency.p99 }
}

const random = prng(settings.lookupClients)
const lookup = () => `/lookup?id=${1 + Math.floor(random() * ROWS)}`
const report = () => '/report'

/** Lookups, with the report clients alongside for `withReports`. */
async function mixed(url: string, seconds: number) {
  const [lookups, reports] = await Promise.all([
    drive(url, settings.lookupClients, seconds, lookup),
    drive(url, settings.reportClients, seconds, report),
  ])
  return { lookups, reports }
}

let expectedLookup: string | undefined

/** Both endpoints answer as they should, and a lookup answers the same bytes on every backend. */
async function check(url: string): Promise<void> {
  const answer = await (await fetch(`${url}/lookup?id=42`)).text()
  expectedLookup ??= answer
  if (answer !== expectedLookup) throw new Error(`${url}: lookup answered ${answer}, not ${expectedLookup}`)
  const { rows } = (await (await fetch(`${url}/report`)).json()) as { rows: number }
  if (rows !== settings.reportRows) throw new Error(`${url}: report of ${rows} rows`)
}

async function measure(config: ServerConfig): Promise<ServiceRun> {
  const server = await startServer(config)
  try {
    await check(server.url)
    await mixed(server.url, settings.warmupSeconds)
    const alone = await drive(server.url, settings.lookupClients, settings.seconds, lookup)
    const { lookups, reports } = await mixed(server.url, settings.seconds)
    return {
      alone: { lookupsPerSec: alone.perSec, p99Ms: alone.p99Ms },
      withReports: { lookupsPerSec: lookups.perSec, p99Ms: lookups.p99Ms, reportsPerSec: reports.perSec },
    }
  } finally {
    await server.stop()
  }
}

const loadAtStart = loadavg()[0]!
const path = refDatabase(ROWS)
const backends: ServerConfig['backend'][] = ['sync', ...sqlaioPaths()]
const runs = new Map<ServerConfig['backend'], ServiceRun[]>(backends.map((backend) => [backend, []]))
for (let round = 0; round < settings.rounds; round++) {
  for (const backend of rotated(backends, round)) {
    const config: ServerConfig = {
      backend,
      path,
      poolSize: settings.poolSize,
      reportRows: settings.reportRows,
    }
    runs.get(backend)!.push(await measure(config))
    console.log(`round ${round + 1}/${settings.rounds}: ${backend} done`)
  }
}

const command = `npm run bench:service${quick ? ' -- --quick' : ''}`
const machine = describeMachine(loadAtStart)
const markdown = serviceMarkdown({ command, machine, settings, runs })
console.log(markdown)
const stem = quick ? 'service-quick' : 'service'
mkdirSync(RESULTS_DIR, { recursive: true })
writeFileSync(`${RESULTS_DIR}${stem}.md`, markdown)
const raw = { date: new Date().toISOString(), command, machine, settings, runs: Object.fromEntries(runs) }
writeFileSync(`${RESULTS_DIR}${stem}.json`, `${JSON.stringify(raw, null, 2)}\n`)
