/**
 * Deadlines (issue 5): `timeoutMs` per call and the engine-wide default, built on the same
 * mechanism as cancellation, reject with a TimeoutError (an AbortError with its own code), and
 * leave the connection usable.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AbortError, createEngine, TimeoutError } from '../src/index.js'
import { tempEngine } from './helpers.js'
import { nativeOn, rangeSql, slowScalarSql, workerFixture } from './stress/support.js'

const fixture = workerFixture()
/** About half a second of work in SQLite on this machine (more on a loaded one). */
const SLOW = slowScalarSql(1_500_000)

function timedOut(ms: number): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof TimeoutError, `expected a TimeoutError, got ${String(error)}`)
    assert.ok(error instanceof AbortError)
    assert.equal(error.code, 'ERR_SQLAIO_TIMEOUT')
    assert.equal(error.name, 'TimeoutError')
    assert.equal(error.timeoutMs, ms)
    assert.match(error.message, new RegExp(`${ms} ms`))
    return true
  }
}

test('timeoutMs on execute rejects with TimeoutError and the connection stays usable', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  await assert.rejects(conn.scalar(SLOW, [], { timeoutMs: 40 }), timedOut(40))
  assert.equal(await conn.scalar('SELECT 1'), 1)
  assert.equal(conn.inTransaction, false)
  // A deadline that is not reached changes nothing.
  assert.equal(await conn.scalar('SELECT ? + 1', [1], { timeoutMs: 5000 }), 2)
  // The same on the engine's implicit worker.
  await assert.rejects(engine.scalar(SLOW, [], { timeoutMs: 30 }), timedOut(30))
  assert.equal(await engine.scalar('SELECT 3'), 3)
  await conn.close()
})

test('a deadline inside a transaction: the transaction state afterwards is what the worker says', async () => {
  const engine = tempEngine({ setup: fixture })
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  await conn.exec('BEGIN')
  await conn.execute('INSERT INTO t VALUES (1)')
  await assert.rejects(conn.scalar(SLOW, [], { timeoutMs: 30 }), timedOut(30))
  // A read-only statement interrupted does not end the transaction.
  assert.equal(conn.inTransaction, await conn.runInWorker(fixture, 'inTransaction'))
  assert.equal(conn.inTransaction, true)
  await conn.exec('COMMIT')
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 1)
  await conn.close()
})

test('the engine-wide timeoutMs applies to every call; a call’s own timeoutMs wins', async () => {
  const engine = tempEngine({ timeoutMs: 40 })
  await assert.rejects(engine.scalar(SLOW), timedOut(40))
  assert.equal(await engine.scalar('SELECT 1'), 1)
  const conn = await engine.connect()
  await assert.rejects(conn.scalar(SLOW), timedOut(40))
  // A write past its deadline: with the native interrupt it stops and times out. On the JS path a
  // running statement cannot be stopped; the call then reports what really happened (either the
  // deadline, or success because the statement completed) and the state agrees with it.
  const write = await conn.exec(`CREATE TABLE big AS ${rangeSql(3_000_000)}`).then(
    () => null,
    (error: unknown) => error,
  )
  const created = await engine.hasTable('big')
  if (nativeOn(engine) || write !== null) {
    timedOut(40)(write)
    assert.equal(created, false)
  } else {
    assert.equal(created, true)
  }
  // A longer per-call deadline, or none (0), overrides the default.
  assert.equal(typeof (await conn.scalar(SLOW, [], { timeoutMs: 60_000 })), 'number')
  assert.equal(typeof (await conn.scalar(SLOW, [], { timeoutMs: 0 })), 'number')
  await assert.rejects(conn.scalar(SLOW, [], { timeoutMs: 25 }), timedOut(25))
  assert.equal(await conn.scalar('SELECT 2'), 2)
  await conn.close()
})

test('a call whose deadline passes while it is queued never runs', async () => {
  const engine = tempEngine({ setup: fixture })
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  const slow = conn.scalar(SLOW)
  const insert = conn.execute('INSERT INTO t VALUES (1)', [], { timeoutMs: 20 })
  const many = conn.executeMany('INSERT INTO t VALUES (?)', [[2]], { timeoutMs: 20 } as {
    signal?: AbortSignal
  })
  const script = conn.exec('INSERT INTO t VALUES (3)', { timeoutMs: 20 })
  const worker = conn.runInWorker({ module: fixture, exportName: 'insert', args: ['t', 4], timeoutMs: 20 })
  await assert.rejects(insert, timedOut(20))
  await assert.rejects(many, timedOut(20))
  await assert.rejects(script, timedOut(20))
  await assert.rejects(worker, timedOut(20))
  await slow
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  await conn.close()
})

test('timeoutMs on a read rejects with TimeoutError and closes the result', async () => {
  const engine = tempEngine({ setup: fixture, batchRows: 50, prefetchBatches: 2 })
  const conn = await engine.connect()
  const result = await conn.execute(rangeSql(100_000, 'nap(x, 2)'))
  await assert.rejects(result.fetchall({ timeoutMs: 50 }), timedOut(50))
  assert.equal(result.closed, true)
  const again = await conn.execute(rangeSql(100_000, 'nap(x, 2)'))
  await assert.rejects(again.toArrow({ timeoutMs: 50 }), timedOut(50))
  assert.equal(await conn.scalar('SELECT 4'), 4)
  await conn.close()
})

test('timeoutMs on transaction() rolls back', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  await assert.rejects(
    conn.transaction(
      async (c) => {
        await c.execute('INSERT INTO t VALUES (1)')
        await c.scalar(SLOW).catch(() => {})
      },
      { timeoutMs: 40 },
    ),
    timedOut(40),
  )
  assert.equal(conn.inTransaction, false)
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  await conn.close()
})

test('bad timeoutMs values are rejected with a RangeError naming the option', async () => {
  const engine = tempEngine()
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number]) {
    await assert.rejects(engine.scalar('SELECT 1', [], { timeoutMs: bad }), (error: unknown) => {
      assert.ok(error instanceof RangeError || error instanceof TypeError)
      assert.match((error as Error).message, /timeoutMs/)
      return true
    })
  }
  assert.throws(() => createEngine('sqlite://', { timeoutMs: -5 }), /timeoutMs/)
  assert.equal(await engine.scalar('SELECT 1'), 1)
})
