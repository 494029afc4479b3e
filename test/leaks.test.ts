/**
 * No leaks (issue 5). Connections and results dropped without close() are cleaned up after
 * garbage collection (FinalizationRegistry): a warning naming where they were opened, the
 * transaction rolled back, the worker back in the pool. Checked in a child process run with
 * --expose-gc: thousands of dropped connections leave the thread count and memory flat.
 * `dispose()` with calls in flight rejects them with ClosedError and is safe to call twice.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { ClosedError, createEngine } from '../src/index.js'
import { tempDbPath } from './helpers.js'
import { rangeSql, slowScalarSql, writeTempModule } from './stress/support.js'

const LIBRARY = new URL('../src/index.js', import.meta.url).href

/** Runs `source` with `node --expose-gc` and returns the JSON it prints on its last line. */
function runWithGc(source: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const script = writeTempModule(source, 'leak-child.mjs')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) {
        reject(new Error(`child exited with ${code ?? signal}\nstdout: ${stdout}\nstderr: ${stderr}`))
        return
      }
      const last = stdout.trim().split('\n').at(-1) ?? ''
      resolve(JSON.parse(last) as Record<string, unknown>)
    })
  })
}

/** Shared by the child scripts: gc, sampling of threads and RSS, warning counts. */
const CHILD_PRELUDE = `
import { readFileSync } from 'node:fs'
import { createEngine } from '${LIBRARY}'
const warnings = { SQLAIO_CONNECTION_LEAK: 0, SQLAIO_RESULT_LEAK: 0, other: [], text: '' }
process.removeAllListeners('warning')
process.on('warning', (w) => {
  if (w.code in warnings) { warnings[w.code]++; warnings.text = w.message }
  else warnings.other.push(String(w))
})
const threads = () => Number(/Threads:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1])
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** Collect, let the finalizers run and their cleanup requests come back. */
async function collect() {
  globalThis.gc()
  await pause(3)
  globalThis.gc()
  await pause(8)
}
const sample = () => ({ threads: threads(), rss: process.memoryUsage().rss })
`

const linux = existsSync('/proc/self/status')

test('thousands of connections dropped without close(): threads and memory stay flat', {
  skip: !linux && 'needs /proc',
}, async () => {
  const result = await runWithGc(
    `${CHILD_PRELUDE}
const engine = createEngine(${JSON.stringify(`sqlite:///${tempDbPath()}`)}, { poolSize: 8, native: process.env.SQLAIO_NATIVE ?? 'auto' })
await engine.exec('CREATE TABLE t (x)')
// Created inside a function so nothing keeps it reachable. Some hold a write transaction.
async function dropConnection(i) {
  const conn = await engine.connect()
  if (i % 8 === 7) {
    await conn.exec('BEGIN')
    await conn.execute('INSERT INTO t VALUES (?)', [i])
  } else if (i % 8 === 3) {
    const result = await conn.execute(${JSON.stringify(rangeSql(50_000))}, [], { batchRows: 128 })
    await result.fetchone()
  } else {
    if ((await conn.scalar('SELECT ?', [i])) !== i) throw new Error('wrong answer')
  }
}
const N = 2000
const samples = []
for (let i = 0; i < N; i++) {
  await dropConnection(i)
  // A write transaction is only dropped right before a collection: until its finalizer runs it
  // holds the write lock, as an unclosed connection would.
  if (i % 8 === 7) await collect()
  if (i % 200 === 0) samples.push(sample())
}
await collect()
await pause(50)
await collect()
samples.push(sample())
const committed = await engine.scalar('SELECT count(*) FROM t')
await engine.execute('INSERT INTO t VALUES (-1)')
console.log(JSON.stringify({ warnings, samples, committed, n: N }))
await engine.dispose()
`,
    180_000,
  )
  const samples = result.samples as { threads: number; rss: number }[]
  const warnings = result.warnings as Record<string, unknown>
  // Every dropped connection was reported, with where it was opened.
  assert.equal(warnings.SQLAIO_CONNECTION_LEAK, 2000)
  assert.match(String(warnings.text), /without close\(\).*opened at/s)
  assert.deepEqual(warnings.other, [])
  // Their write transactions were rolled back (and released the lock: the insert above worked).
  assert.equal(result.committed, 0)
  // After warm-up (sample 1, i = 200) the thread count does not grow with the dropped connections.
  const warm = samples[1]!
  const last = samples.at(-1)!
  const maxThreads = Math.max(...samples.slice(1).map((s) => s.threads))
  assert.ok(maxThreads <= warm.threads + 4, `threads grew from ${warm.threads} to ${maxThreads}`)
  assert.ok(last.threads <= warm.threads + 2, `threads at the end ${last.threads} vs ${warm.threads}`)
  const growthMb = (last.rss - warm.rss) / 2 ** 20
  assert.ok(growthMb < 64, `RSS grew by ${growthMb.toFixed(1)} MB over 1800 dropped connections`)
})

test('results dropped without close(): the warning is emitted, threads and memory stay flat', {
  skip: !linux && 'needs /proc',
}, async () => {
  const result = await runWithGc(
    `${CHILD_PRELUDE}
const engine = createEngine(${JSON.stringify(`sqlite:///${tempDbPath()}`)}, { native: process.env.SQLAIO_NATIVE ?? 'auto' })
const conn = await engine.connect()
async function dropResult(db, i) {
  const result = await db.execute(${JSON.stringify(rangeSql(5_000))}, [], { batchRows: 128 })
  const row = await result.fetchone()
  if (row.x !== 1) throw new Error('wrong row')
}
// One result dropped while its worker still streams: collected and closed by the finalizer
// without any further call (the stream must not keep the result reachable).
await dropResult(conn, -1)
for (let k = 0; k < 5 && warnings.SQLAIO_RESULT_LEAK === 0; k++) await collect()
const warnedBeforeNextCall = warnings.SQLAIO_RESULT_LEAK
const samples = []
const N = 400
for (let i = 0; i < N; i++) {
  await dropResult(i % 2 ? engine : conn, i)
  // Each call after a dropped result gets its own answer.
  if ((await (i % 2 ? engine : conn).scalar('SELECT ?', [i])) !== i) throw new Error('wrong answer')
  if (i % 4 === 3) await collect()
  if (i % 100 === 0) samples.push(sample())
}
await collect()
samples.push(sample())
console.log(JSON.stringify({ warnings, samples, n: N, warnedBeforeNextCall }))
await conn.close()
await engine.dispose()
`,
    180_000,
  )
  const samples = result.samples as { threads: number; rss: number }[]
  const warnings = result.warnings as Record<string, unknown>
  assert.ok(
    (warnings.SQLAIO_RESULT_LEAK as number) > 0,
    'no SQLAIO_RESULT_LEAK warning for 400 results dropped while streaming',
  )
  assert.match(String(warnings.text), /AsyncResult was garbage-collected without close\(\).*opened at/s)
  assert.equal(
    result.warnedBeforeNextCall,
    1,
    'a dropped streaming result was not collected until the next call',
  )
  assert.deepEqual(warnings.other, [])
  const warm = samples[1]!
  const last = samples.at(-1)!
  assert.ok(last.threads <= warm.threads + 2, `threads grew from ${warm.threads} to ${last.threads}`)
  const growthMb = (last.rss - warm.rss) / 2 ** 20
  assert.ok(growthMb < 64, `RSS grew by ${growthMb.toFixed(1)} MB over 300 dropped results`)
})

test('dispose() with calls in flight rejects them with ClosedError, ends every worker, and is safe twice', async () => {
  const fixture = writeTempModule(
    'export async function wait(db, ms) { await new Promise((r) => setTimeout(r, ms)); return ms }',
    'wait.mjs',
  )
  const threads = (): number =>
    linux ? Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) : 0
  // Warm up once so that the threads Node creates lazily for workers exist before counting.
  const warm = createEngine(`sqlite:///${tempDbPath()}`)
  await (await warm.connect()).close()
  await warm.dispose()
  const threadsBefore = threads()
  const engine = createEngine(`sqlite:///${tempDbPath()}`, { batchRows: 64, prefetchBatches: 1 })
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  const idle = await engine.connect()
  await idle.close() // its worker now waits in the pool
  const streaming = await conn.execute(rangeSql(1_000_000))
  await streaming.fetchone()
  const inFlight = [
    engine.scalar(slowScalarSql(2_000_000)),
    engine.execute('INSERT INTO t VALUES (1)'),
    conn.runInWorker(fixture, 'wait', 60_000),
    conn.scalar('SELECT 2'),
    streaming.fetchall(),
    engine.connect(),
  ]
  const settled = Promise.allSettled(inFlight)
  const started = performance.now()
  const first = engine.dispose()
  const second = engine.dispose()
  await Promise.all([first, second])
  const outcomes = await settled
  const elapsed = performance.now() - started
  assert.ok(elapsed < 2000, `dispose took ${elapsed.toFixed(0)} ms with calls in flight`)
  for (const [i, outcome] of outcomes.entries()) {
    assert.equal(outcome.status, 'rejected', `call ${i} was not rejected`)
    const reason = (outcome as PromiseRejectedResult).reason
    assert.ok(reason instanceof ClosedError, `call ${i} rejected with ${String(reason)}`)
  }
  assert.equal(conn.closed, true)
  // Every worker (implicit, connection, pooled) has ended.
  assert.ok(
    threads() <= threadsBefore,
    `threads: ${threadsBefore} before the engine, ${threads()} after dispose`,
  )
  await assert.rejects(conn.scalar('SELECT 1'), ClosedError)
  await assert.rejects(engine.scalar('SELECT 1'), ClosedError)
  await assert.rejects(engine.connect(), ClosedError)
  await engine.dispose()
})
