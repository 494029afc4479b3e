/**
 * User code in the workers: the `setup` module (run in every worker with the raw better-sqlite3
 * Database, for pragmas and user functions) and `runInWorker` (call an export of a module in the
 * engine's worker or a connection's worker; the result comes back by structured clone).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { tempEngine, writeModule } from './helpers.js'

const setupModule = writeModule(`
  export default function setup(db) {
    db.function('double', (x) => x * 2)
    db.function('greet', (name) => 'hello ' + name)
    db.pragma('cache_size = -4321')
  }
`)

const tools = writeModule(`
  export function cacheSize(db) { return db.pragma('cache_size', { simple: true }) }
  export function sum(db, a, b) { return a + b }
  export async function later(db, value) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    return { value, list: [1, 2, 3], when: new Date(0), bytes: new Uint8Array([7, 8]) }
  }
  export function count(db, table) { return Number(db.prepare('SELECT count(*) FROM ' + table).pluck().get()) }
  export function inTransaction(db) { return db.inTransaction }
  export function fails() { throw new RangeError('failing on purpose') }
  export function unclonable() { return () => 1 }
  export function threadId() { return import('node:worker_threads').then((w) => w.threadId) }
`)

test('setup runs in the engine worker and in every connection worker', async () => {
  const engine = tempEngine({ setup: setupModule })
  assert.equal(await engine.scalar('SELECT double(21)'), 42)
  assert.equal(await engine.scalar("SELECT greet('Dana')"), 'hello Dana')
  assert.equal(await engine.runInWorker(tools, 'cacheSize'), -4321)
  const connections = await Promise.all([engine.connect(), engine.connect(), engine.connect()])
  for (const conn of connections) {
    assert.equal(await conn.scalar('SELECT double(5)'), 10)
    assert.equal(await conn.runInWorker(tools, 'cacheSize'), -4321)
  }
  // A pooled worker keeps what setup did.
  await connections[0]!.close()
  const again = await engine.connect()
  assert.equal(await again.scalar('SELECT double(1)'), 2)
  await again.close()
  await connections[1]!.close()
  await connections[2]!.close()
})

test('setup may be a file URL, a URL object, and may be async', async () => {
  const asyncSetup = writeModule(`
    export default async function setup(db) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      db.function('answer', () => 42)
    }
  `)
  for (const setup of [pathToFileURL(asyncSetup).href, pathToFileURL(asyncSetup)]) {
    const engine = tempEngine({ setup })
    assert.equal(await engine.scalar('SELECT answer()'), 42)
    const conn = await engine.connect()
    assert.equal(await conn.scalar('SELECT answer()'), 42)
    await conn.close()
  }
})

test('a setup module that throws fails the calls with its error, without hanging', async () => {
  const throwing = writeModule(`export default function setup() { throw new Error('setup exploded') }`)
  const engine = tempEngine({ setup: throwing })
  await assert.rejects(engine.scalar('SELECT 1'), /setup exploded/)
  await assert.rejects(engine.connect(), /setup exploded/)
  // Still failing the same way later: no hang, no crash.
  await assert.rejects(engine.scalar('SELECT 1'), /setup exploded/)
})

test('a setup module without a default export function is rejected', async () => {
  const noDefault = writeModule('export const x = 1')
  const engine = tempEngine({ setup: noDefault })
  await assert.rejects(engine.scalar('SELECT 1'), /default export/)
  const missing = tempEngine({ setup: '/nonexistent/setup.mjs' })
  await assert.rejects(missing.scalar('SELECT 1'))
})

test('a user function that throws fails only its statement', async () => {
  const throwingFn = writeModule(`
    export default function setup(db) {
      db.function('explode', (x) => { if (x > 2) throw new Error('too big: ' + x); return x })
    }
  `)
  const engine = tempEngine({ setup: throwingFn, batchRows: 2 })
  const conn = await engine.connect()
  await assert.rejects(
    async () =>
      (await conn.execute('SELECT explode(value) AS v FROM json_each(?)', ['[1,2,3,4]'])).fetchall(),
    /too big: 3/,
  )
  assert.equal(await conn.scalar('SELECT explode(2)'), 2)
  await conn.close()
})

test('runInWorker passes arguments and returns structured clones', async () => {
  const engine = tempEngine()
  assert.equal(await engine.runInWorker(tools, 'sum', 2, 3), 5)
  assert.deepEqual(await engine.runInWorker(tools, 'later', 'x'), {
    value: 'x',
    list: [1, 2, 3],
    when: new Date(0),
    bytes: new Uint8Array([7, 8]),
  })
  const conn = await engine.connect()
  assert.equal(await conn.runInWorker(pathToFileURL(tools), 'sum', 'a', 'b'), 'ab')
  await conn.close()
})

test("runInWorker runs on the caller's own worker and connection", async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TEMP TABLE engine_only (x); INSERT INTO engine_only VALUES (1), (2)')
  // Temporary tables exist on one connection only: seeing it proves which worker ran the call.
  assert.equal(await engine.runInWorker(tools, 'count', 'engine_only'), 2)
  const conn = await engine.connect()
  await assert.rejects(conn.runInWorker(tools, 'count', 'engine_only'), /no such table/)
  await conn.exec('CREATE TABLE t (x)')
  const tx = await conn.begin()
  await conn.execute('INSERT INTO t VALUES (1)')
  assert.equal(await conn.runInWorker(tools, 'inTransaction'), true)
  assert.equal(await conn.runInWorker(tools, 'count', 't'), 1)
  assert.equal(await engine.runInWorker(tools, 'count', 't'), 0)
  await tx.rollback()
  assert.notEqual(await conn.runInWorker(tools, 'threadId'), await engine.runInWorker(tools, 'threadId'))
  await conn.close()
})

test('runInWorker errors reject the call and leave the worker usable', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  await assert.rejects(conn.runInWorker(tools, 'fails'), (error: unknown) => {
    assert.ok(error instanceof RangeError, String(error))
    assert.match(error.message, /failing on purpose/)
    return true
  })
  assert.equal(await conn.scalar('SELECT 1'), 1)
  await assert.rejects(conn.runInWorker(tools, 'unclonable'))
  assert.equal(await conn.scalar('SELECT 2'), 2)
  // Arguments that cannot be cloned are refused on the calling side.
  await assert.rejects(conn.runInWorker(tools, 'sum', () => 1, 2))
  assert.equal(await conn.scalar('SELECT 3'), 3)
  await conn.close()
})

test('setup and runInWorker get a Database with better-sqlite3 defaults; sqlaio keeps its own integers', async () => {
  const setup = writeModule(`
    export default function setup(db) {
      db.function('twice', (x) => x * 2)
    }
  `)
  const fns = writeModule(`
    export function countRows(db) { return db.prepare('SELECT count(*) AS n FROM t').get().n }
    export function big(db) { return db.prepare('SELECT max(x) AS m FROM t').get().m }
  `)
  const engine = tempEngine({ setup, intMode: 'bigint' })
  try {
    // A number a user function returns is a REAL to SQLite, as with better-sqlite3 alone.
    assert.equal(await engine.scalar('SELECT twice(21)'), 42)
    await engine.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (9007199254740993)')
    // Plain better-sqlite3: numbers, not bigints (the big one loses precision, as there).
    assert.equal(await engine.runInWorker(fns, 'countRows'), 3)
    assert.equal(typeof (await engine.runInWorker(fns, 'big')), 'number')
    // sqlaio's own statements still read integers exactly.
    assert.equal(await engine.scalar('SELECT max(x) FROM t'), 9007199254740993n)
    const conn = await engine.connect()
    assert.equal(await conn.scalar('SELECT twice(x) FROM t WHERE x = 2'), 4)
    assert.equal(await conn.runInWorker(fns, 'countRows'), 3)
    await conn.close()
  } finally {
    await engine.dispose()
  }
})
