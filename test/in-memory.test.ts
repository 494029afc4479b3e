/**
 * `sqlite://`: one in-memory database shared by the engine's worker and all of its
 * connections, separate from every other engine's, and gone without a trace after `dispose()`
 * (or when the process exits without it).
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname } from 'node:path'
import { test } from 'node:test'
import { createEngine, type Engine } from '../src/index.js'
import { runChild, tempEngine, writeModule } from './helpers.js'

/** The row path under test (SQLAIO_NATIVE=off|auto|require), as for tempEngine(). */
const NATIVE = (process.env.SQLAIO_NATIVE ?? 'auto') as 'off' | 'auto' | 'require'

/** A module whose `filename` export returns the worker database's file name. */
const filenameModule = writeModule('export function filename(db) { return db.name }')

const databaseFile = (db: Pick<Engine, 'runInWorker'>): Promise<string> =>
  db.runInWorker(filenameModule, 'filename') as Promise<string>

test('the engine worker and every connection share one in-memory database', async () => {
  const engine = tempEngine({ memory: true })
  await engine.exec('CREATE TABLE t (x INTEGER)')
  const a = await engine.connect()
  const b = await engine.connect()
  await a.execute('INSERT INTO t VALUES (1)')
  await b.execute('INSERT INTO t VALUES (2)')
  await engine.execute('INSERT INTO t VALUES (3)')
  for (const db of [engine, a, b]) {
    assert.deepEqual(await (await db.execute('SELECT x FROM t ORDER BY x')).scalars(), [1, 2, 3])
  }
  assert.deepEqual(await engine.tableNames(), ['t'])
  assert.equal(await b.runInWorker(filenameModule, 'filename'), await databaseFile(engine))
  await a.close()
  await b.close()
})

test('transactions on an in-memory database are isolated until commit', async () => {
  const engine = tempEngine({ memory: true })
  await engine.exec('CREATE TABLE t (x INTEGER)')
  const writer = await engine.connect()
  const reader = await engine.connect()
  const tx = await writer.begin()
  await writer.execute('INSERT INTO t VALUES (1)')
  assert.equal(await reader.scalar('SELECT count(*) FROM t'), 0)
  await tx.commit()
  assert.equal(await reader.scalar('SELECT count(*) FROM t'), 1)
  await writer.close()
  await reader.close()
})

test('two in-memory engines are separate databases', async () => {
  const one = tempEngine({ memory: true })
  const two = tempEngine({ memory: true })
  await one.exec('CREATE TABLE only_in_one (x)')
  assert.equal(await one.hasTable('only_in_one'), true)
  assert.equal(await two.hasTable('only_in_one'), false)
  assert.notEqual(await databaseFile(one), await databaseFile(two))
})

test('sqlite:///:memory: behaves the same', async () => {
  const engine = createEngine('sqlite:///:memory:', { native: NATIVE })
  try {
    await engine.exec('CREATE TABLE t (x); INSERT INTO t VALUES (5)')
    const conn = await engine.connect()
    assert.equal(await conn.scalar('SELECT x FROM t'), 5)
    await conn.close()
  } finally {
    await engine.dispose()
  }
})

test('dispose() leaves nothing on disk', async () => {
  const engine = createEngine('sqlite://', { native: NATIVE })
  await engine.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
  const conn = await engine.connect()
  await conn.execute('INSERT INTO t VALUES (2)')
  const pooled = await engine.connect()
  await pooled.close()
  const file = await databaseFile(engine)
  const dir = dirname(file)
  // The database lives in a private directory named sqlaio-* in RAM (or the temp directory).
  assert.match(basename(dir), /^sqlaio-/)
  assert.ok(dirname(dir) === '/dev/shm' || dirname(dir) === tmpdir(), `unexpected location ${dir}`)
  assert.ok(existsSync(file))
  await engine.dispose()
  assert.equal(existsSync(dir), false, `${dir} is still there after dispose()`)
  assert.equal(readdirSync(dirname(dir)).includes(basename(dir)), false)
  // A new engine starts empty.
  const fresh = tempEngine({ memory: true })
  assert.equal(await fresh.hasTable('t'), false)
})

test('a process that exits without dispose() leaves nothing on disk', async () => {
  const outcome = await runChild(
    `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine('sqlite://', { native: process.env.SQLAIO_NATIVE ?? 'auto' })
    await engine.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
    console.log(await engine.runInWorker(${JSON.stringify(filenameModule)}, 'filename'))
    `,
    20_000,
  )
  assert.equal(outcome.code, 0, outcome.stderr)
  const file = outcome.stdout.trim()
  assert.match(basename(dirname(file)), /^sqlaio-/)
  assert.equal(existsSync(dirname(file)), false, `${dirname(file)} is left behind`)
})
