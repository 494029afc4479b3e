/**
 * `npm run demo`: the sqlalchemy_aio README example ported to sqlaio, then an analytics query
 * over generated data, timed beside the run-in-executor way (a worker running better-sqlite3 and
 * posting rows back), with the main thread's longest stall for each.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { createEngine } from '../src/index.js'
import { StallMonitor } from './stall-monitor.js'

const ANALYTICS_ROWS = 500_000

async function usersExample(): Promise<void> {
  // sqlalchemy_aio needed a file here: its threads could not share an in-memory database.
  const engine = createEngine('sqlite://')
  await engine.execute('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)')

  const conn = await engine.connect()
  for (const name of ['Jeremy Goodwin', 'Natalie Hurley', 'Dan Rydell', 'Casey McCall', 'Dana Whitaker']) {
    await conn.execute('INSERT INTO users (name) VALUES (?)', [name])
  }
  const result = await conn.execute("SELECT * FROM users WHERE name LIKE 'D%'")
  const dUsers = await result.fetchall<{ id: number; name: string }>()
  await conn.close()

  for (const user of dUsers) console.log(`Username: ${user.name}`)

  // sqlalchemy_aio's `async with engine.connect() as conn: async with conn.begin():` — with
  // TypeScript 5.2+ this is `await using conn = ...; await using tx = ...`.
  const conn2 = await engine.connect()
  const tx = await conn2.begin()
  console.log('select 1 in a transaction:', await conn2.scalar('SELECT 1'))
  await tx[Symbol.asyncDispose]()
  await conn2[Symbol.asyncDispose]()

  await engine.execute('DROP TABLE users')
  await engine.dispose()
}

function generate(path: string): void {
  const db = new Database(path)
  db.exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, amount REAL, kind TEXT, note TEXT)`)
  const insert = db.prepare('INSERT INTO events (user_id, amount, kind, note) VALUES (?, ?, ?, ?)')
  const kinds = ['view', 'click', 'purchase', 'refund']
  let seed = 42
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  db.transaction(() => {
    for (let i = 0; i < ANALYTICS_ROWS; i++) {
      const note = random() < 0.1 ? null : `note ${Math.floor(random() * 1e6)}`
      insert.run(Math.floor(random() * 10_000), Math.round(random() * 10_000) / 100, kinds[i % 4], note)
    }
  })()
  db.close()
}

const QUERY = 'SELECT id, user_id, amount, kind, note FROM events'

/** The run-in-executor baseline: better-sqlite3 in a worker, rows posted back (structured clone). */
function viaPostMessage(path: string): Promise<unknown[]> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    const Database = require(workerData.module)
    const db = new Database(workerData.path, { readonly: true })
    parentPort.postMessage(db.prepare(workerData.sql).all())
    db.close()`
  const worker = new Worker(source, {
    eval: true,
    workerData: { path, sql: QUERY, module: packagePath('better-sqlite3') },
  })
  return new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
}

function packagePath(name: string): string {
  return new URL(import.meta.resolve(name)).pathname
}

async function timed<T>(label: string, run: () => Promise<T>, count: (value: T) => number): Promise<void> {
  const monitor = new StallMonitor()
  await monitor.start()
  const started = performance.now()
  const value = await run()
  const elapsed = performance.now() - started
  const stall = monitor.stop()
  const rows = count(value)
  const rate = Math.round(rows / (elapsed / 1000)).toLocaleString('en-US')
  console.log(
    `${label.padEnd(38)} ${elapsed.toFixed(0).padStart(6)} ms  ${rate.padStart(11)} rows/s  longest stall ${stall.toFixed(1).padStart(6)} ms`,
  )
}

async function analytics(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sqlaio-demo-'))
  const path = join(dir, 'events.db')
  try {
    console.log(`\nGenerating ${ANALYTICS_ROWS.toLocaleString('en-US')} events...`)
    generate(path)
    const engine = createEngine(`sqlite:///${path}`, { readonly: true })
    await engine.scalar('SELECT 1') // start the worker outside the timings
    console.log(`\n${QUERY}`)
    await timed(
      'sqlaio toArrow()',
      async () => (await engine.execute(QUERY)).toArrow(),
      (table) => table.numRows,
    )
    await timed(
      'sqlaio fetchall()',
      async () => (await engine.execute(QUERY)).fetchall(),
      (rows) => rows.length,
    )
    await timed(
      'worker + postMessage (run-in-executor)',
      () => viaPostMessage(path),
      (rows) => rows.length,
    )
    await timed(
      'better-sqlite3 .all() on the main thread',
      async () => new Database(path, { readonly: true }).prepare(QUERY).all(),
      (rows) => rows.length,
    )
    const summary = await engine.execute(
      'SELECT kind, count(*) AS n, round(sum(amount), 2) AS total FROM events GROUP BY kind ORDER BY total DESC',
    )
    console.log('\nRevenue by kind:')
    console.table(await summary.fetchall())
    await engine.dispose()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await usersExample()
await analytics()
