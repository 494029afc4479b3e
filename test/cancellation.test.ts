/**
 * Cancellation (issue 5): an AbortSignal on every async call. A call aborted while queued never
 * runs; a running statement stops (at the next batch on the JS path, at once with the native
 * interrupt); a streaming result stops producing; the rejection is an AbortError whose `cause` is
 * the signal's reason; and afterwards the connection is exact: the next call gets its own answer
 * and `inTransaction` tells the truth.
 *
 * Assertions hold on both paths; only "stops mid-statement within a second" is native-only.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AbortError, type AsyncResult, type Connection, type Engine } from '../src/index.js'
import { tempEngine } from './helpers.js'
import { nativeOn, rangeSql, sleep, slowScalarSql, workerFixture } from './stress/support.js'

const fixture = workerFixture()

/** An engine whose workers load the fixture (tick/nap functions) with small batches. */
function engineWithFixture(): Engine {
  return tempEngine({ setup: fixture, batchRows: 50, prefetchBatches: 2 })
}

/** Whether `error` is the AbortError of `reason`. */
function abortedWith(reason: unknown): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof AbortError, `expected an AbortError, got ${String(error)}`)
    assert.equal(error.code, 'ABORT_ERR')
    assert.equal(error.cause, reason)
    assert.ok(error.message.length > 0)
    return true
  }
}

async function ticks(db: Connection | Engine): Promise<number> {
  return (await db.runInWorker(fixture, 'tickCount')) as number
}

/** The worker's own view of its transaction state, to compare with `inTransaction`. */
async function workerInTransaction(conn: Connection): Promise<boolean> {
  return (await conn.runInWorker(fixture, 'inTransaction')) as boolean
}

/**
 * A result of 100,000 rows that takes ~100 ms per batch of 50 rows to produce, its first batch
 * already read: any further read waits for the worker.
 */
async function slowStream(conn: Connection, signal?: AbortSignal): Promise<AsyncResult> {
  await conn.runInWorker(fixture, 'resetTicks')
  const result = await conn.execute(rangeSql(100_000, 'nap(x, 2)'), [], signal ? { signal } : {})
  const first = await result.fetchmany(50)
  assert.equal(first.length, 50)
  return result
}

/** Asserts the worker stopped producing rows: the count is small and no longer grows. */
async function assertStopped(conn: Connection): Promise<void> {
  const seen = await ticks(conn)
  await sleep(150)
  const later = await ticks(conn)
  assert.equal(later, seen, 'the worker kept producing rows after the abort')
  assert.ok(seen < 1000, `the worker produced ${seen} of 100000 rows after an early abort`)
}

test('execute aborted while queued never runs (connection and engine)', async () => {
  const engine = engineWithFixture()
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  const slow = conn.scalar(slowScalarSql(1_000_000))
  const controller = new AbortController()
  const reason = new Error('changed my mind')
  const insert = conn.execute('INSERT INTO t VALUES (1)', [], { signal: controller.signal })
  controller.abort(reason)
  await assert.rejects(insert, abortedWith(reason))
  assert.equal(typeof (await slow), 'number')
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)

  const engineSlow = engine.scalar(slowScalarSql(1_000_000))
  const engineController = new AbortController()
  const engineInsert = engine.execute('INSERT INTO t VALUES (2)', [], { signal: engineController.signal })
  engineController.abort('no')
  await assert.rejects(engineInsert, abortedWith('no'))
  await engineSlow
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
  await conn.close()
})

test('an already-aborted signal rejects every call kind at once and runs nothing', async () => {
  const engine = engineWithFixture()
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  const reason = { why: 'pre-aborted' }
  const signal = AbortSignal.abort(reason)
  await assert.rejects(conn.execute('INSERT INTO t VALUES (1)', [], { signal }), abortedWith(reason))
  await assert.rejects(conn.scalar('SELECT 1', [], { signal }), abortedWith(reason))
  await assert.rejects(conn.exec('INSERT INTO t VALUES (2)', { signal }), abortedWith(reason))
  await assert.rejects(
    conn.executeMany('INSERT INTO t VALUES (?)', [[3], [4]], { signal }),
    abortedWith(reason),
  )
  await assert.rejects(
    conn.runInWorker({ module: fixture, exportName: 'insert', args: ['t', 5], signal }),
    abortedWith(reason),
  )
  await assert.rejects(engine.connect({ signal }), abortedWith(reason))
  await assert.rejects(
    conn.transaction(async (c) => c.execute('INSERT INTO t VALUES (6)'), { signal }),
    abortedWith(reason),
  )
  await assert.rejects(
    engine.transaction(async (c) => c.execute('INSERT INTO t VALUES (7)'), { signal }),
    abortedWith(reason),
  )
  assert.equal(conn.inTransaction, false)
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  await conn.close()
})

test('a running statement is stopped; mid-statement within a second when the native interrupt exists', async () => {
  const engine = engineWithFixture()
  const conn = await engine.connect()
  // 20M steps take several seconds; only the native path can stop it mid-statement.
  const native = nativeOn(engine)
  const sql = slowScalarSql(native ? 20_000_000 : 1_000_000)
  const controller = new AbortController()
  const started = performance.now()
  const slow = conn.scalar(sql, [], { signal: controller.signal })
  setTimeout(() => controller.abort('too slow'), 50)
  await assert.rejects(slow, abortedWith('too slow'))
  const elapsed = performance.now() - started
  if (native)
    assert.ok(elapsed < 2000, `native interrupt took ${elapsed.toFixed(0)} ms to stop the statement`)
  // The next call gets its own answer.
  assert.equal(await conn.scalar('SELECT 42'), 42)
  assert.equal(conn.inTransaction, false)
  await conn.close()
})

test('aborting a streaming result stops the worker producing rows', async () => {
  const engine = engineWithFixture()
  const conn = await engine.connect()
  const controller = new AbortController()
  const result = await slowStream(conn, controller.signal)
  const reason = new Error('stop streaming')
  controller.abort(reason)
  await assert.rejects(result.fetchmany(10), abortedWith(reason))
  assert.equal(result.closed, true)
  await assertStopped(conn)
  assert.equal(await conn.scalar('SELECT 7'), 7)
  await conn.close()
})

const readers: [string, (result: AsyncResult, signal: AbortSignal) => Promise<unknown>][] = [
  ['fetchone', (r, signal) => r.fetchone({ signal })],
  ['fetchmany', (r, signal) => r.fetchmany(500, { signal })],
  ['fetchall', (r, signal) => r.fetchall({ signal })],
  ['first', (r, signal) => r.first({ signal })],
  ['scalar', (r, signal) => r.scalar({ signal })],
  ['scalars', (r, signal) => r.scalars({ signal })],
  ['one', (r, signal) => r.one({ signal })],
  ['toArrow', (r, signal) => r.toArrow({ signal })],
  ['column', (r, signal) => r.column('x', { signal })],
  [
    'batches',
    async (r, signal) => {
      let rows = 0
      for await (const batch of r.batches({ signal })) rows += batch.numRows
      return rows
    },
  ],
]

for (const [name, read] of readers) {
  test(`${name}({ signal }) aborted while waiting for rows rejects, closes the result and stops the worker`, async () => {
    const engine = engineWithFixture()
    const conn = await engine.connect()
    const result = await slowStream(conn)
    // one() wants two rows and first()/scalar() one: drain what is buffered so that they wait.
    if (name === 'fetchone' || name === 'first' || name === 'scalar' || name === 'one') {
      const buffered = await result.fetchmany(0)
      assert.deepEqual(buffered, [])
    }
    const controller = new AbortController()
    const reason = new Error(`abort ${name}`)
    setTimeout(() => controller.abort(reason), 20)
    const outcome = await read(result, controller.signal).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    )
    if ('value' in outcome) {
      // fetchone/first/scalar/one may be answered from a batch already in memory; then the
      // read completed before the abort and the result still works.
      assert.ok(['fetchone', 'first', 'scalar', 'one'].includes(name), `${name} resolved despite the abort`)
    } else {
      abortedWith(reason)(outcome.error)
      assert.equal(result.closed, true)
      await assert.rejects(result.fetchone(), Error)
    }
    result.close()
    await assertStopped(conn)
    assert.equal(await conn.scalar('SELECT 8'), 8)
    await conn.close()
  })
}

test('a read with its own signal: aborting it while rows are still arriving rejects fetchall', async () => {
  const engine = engineWithFixture()
  const conn = await engine.connect()
  const result = await slowStream(conn)
  const controller = new AbortController()
  const pending = result.fetchall({ signal: controller.signal })
  await sleep(120)
  controller.abort('enough')
  await assert.rejects(pending, abortedWith('enough'))
  await assertStopped(conn)
  await conn.close()
})

test('connect({ signal }) aborted while the worker starts rejects, and the engine connects afterwards', async () => {
  const engine = engineWithFixture()
  const controller = new AbortController()
  const pending = engine.connect({ signal: controller.signal })
  controller.abort('not now')
  await assert.rejects(pending, abortedWith('not now'))
  const conn = await engine.connect()
  assert.equal(await conn.scalar('SELECT 1'), 1)
  await conn.close()
})

test('connection.transaction(fn, { signal }) aborted mid-way rolls back and leaves the connection exact', async () => {
  const engine = engineWithFixture()
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  const controller = new AbortController()
  const reason = new Error('abort the transaction')
  let fnSaw: unknown = null
  const pending = conn.transaction(
    async (c) => {
      await c.execute('INSERT INTO t VALUES (1)')
      setTimeout(() => controller.abort(reason), 30)
      try {
        await c.scalar(slowScalarSql(1_000_000))
        // Further calls of the abandoned fn must not run outside the rolled-back transaction.
        await c.execute('INSERT INTO t VALUES (2)')
      } catch (error) {
        fnSaw = error
      }
    },
    { signal: controller.signal },
  )
  await assert.rejects(pending, abortedWith(reason))
  assert.equal(conn.inTransaction, false)
  assert.equal(await workerInTransaction(conn), false)
  await sleep(20)
  assert.ok(fnSaw instanceof Error, 'the calls of the aborted fn failed')
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
  // The connection is usable for a new transaction.
  await conn.transaction(async (c) => c.execute('INSERT INTO t VALUES (3)'))
  assert.deepEqual(await (await engine.execute('SELECT x FROM t')).fetchall(), [{ x: 3 }])
  await conn.close()
})

test('engine.transaction(fn, { signal }) aborted mid-way rolls back', async () => {
  const engine = engineWithFixture()
  await engine.exec('CREATE TABLE t (x)')
  const controller = new AbortController()
  const pending = engine.transaction(
    async (c) => {
      await c.execute('INSERT INTO t VALUES (1)')
      controller.abort('bye')
      await c.scalar(slowScalarSql(500_000)).catch(() => {})
    },
    { signal: controller.signal },
  )
  await assert.rejects(pending, abortedWith('bye'))
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
  await engine.transaction(async (c) => c.execute('INSERT INTO t VALUES (9)'))
  assert.equal(await engine.scalar('SELECT sum(x) FROM t'), 9)
})

test('executeMany, exec and runInWorker aborted while queued never run', async () => {
  const engine = engineWithFixture()
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  const slow = conn.scalar(slowScalarSql(1_000_000))
  const controllers = [new AbortController(), new AbortController(), new AbortController()]
  const many = conn.executeMany('INSERT INTO t VALUES (?)', [[1], [2], [3]], {
    signal: controllers[0]!.signal,
  })
  const script = conn.exec('INSERT INTO t VALUES (4); INSERT INTO t VALUES (5)', {
    signal: controllers[1]!.signal,
  })
  const worker = conn.runInWorker({
    module: fixture,
    exportName: 'insert',
    args: ['t', 6],
    signal: controllers[2]!.signal,
  })
  const kept = conn.executeMany('INSERT INTO t VALUES (?)', [[10], [20]])
  for (const [i, c] of controllers.entries()) c.abort(`r${i}`)
  await assert.rejects(many, abortedWith('r0'))
  await assert.rejects(script, abortedWith('r1'))
  await assert.rejects(worker, abortedWith('r2'))
  assert.equal(await kept, 2)
  await slow
  assert.deepEqual(await (await conn.execute('SELECT x FROM t ORDER BY x')).scalars(), [10, 20])
  await conn.close()
})

test('exec of a long script aborted while running stops (mid-statement with the native interrupt)', async () => {
  const engine = engineWithFixture()
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  const native = nativeOn(engine)
  const n = native ? 20_000_000 : 300_000
  const controller = new AbortController()
  const started = performance.now()
  const script = conn.exec(
    `BEGIN; INSERT INTO t ${rangeSql(n)}; INSERT INTO t VALUES (-1); COMMIT`.replace('AS x FROM c', 'FROM c'),
    { signal: controller.signal },
  )
  setTimeout(() => controller.abort('halt'), 50)
  const outcome = await script.then(
    () => 'completed',
    (error: unknown) => error,
  )
  const count = (await conn.scalar('SELECT count(*) FROM t')) as number
  if (outcome === 'completed') {
    // The JS path cannot stop a statement: the script ran to its end and committed.
    assert.equal(native, false, 'the native interrupt did not stop the script')
    assert.equal(count, n + 1)
  } else {
    abortedWith('halt')(outcome)
    if (native) {
      const elapsed = performance.now() - started
      assert.ok(elapsed < 2000, `stopping the script took ${elapsed.toFixed(0)} ms`)
    }
    // Interrupted inside BEGIN..COMMIT: nothing of it is committed, and the connection says so.
    assert.equal(conn.inTransaction, await workerInTransaction(conn))
    if (conn.inTransaction) await conn.exec('ROLLBACK')
    assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  }
  assert.equal(await conn.scalar('SELECT 5'), 5)
  await conn.close()
})

test('an interrupted write inside a transaction: inTransaction tells the truth (SQLite may roll back)', async () => {
  const engine = engineWithFixture()
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  const native = nativeOn(engine)
  await conn.exec('BEGIN')
  await conn.execute('INSERT INTO t VALUES (0)')
  assert.equal(conn.inTransaction, true)
  const controller = new AbortController()
  const n = native ? 20_000_000 : 200_000
  const big = conn.execute(`INSERT INTO t SELECT x FROM (${rangeSql(n)})`, [], { signal: controller.signal })
  setTimeout(() => controller.abort('interrupt the insert'), 50)
  const outcome = await big.then(
    (result) => result,
    (error: unknown) => error,
  )
  // Whatever happened, the flag and the worker agree.
  assert.equal(conn.inTransaction, await workerInTransaction(conn))
  if (native) {
    abortedWith('interrupt the insert')(outcome)
    // SQLite rolls back the whole transaction when an INSERT inside it is interrupted: the
    // connection must surface that rather than claim a transaction is still open.
    assert.equal(conn.inTransaction, false)
    assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  } else if (outcome instanceof Error) {
    abortedWith('interrupt the insert')(outcome)
  } else {
    // JS path: the statement cannot be stopped once running; it completed inside the transaction.
    assert.equal(conn.inTransaction, true)
    assert.equal(await conn.scalar('SELECT count(*) FROM t'), n + 1)
  }
  if (conn.inTransaction) await conn.exec('ROLLBACK')
  assert.equal(conn.inTransaction, false)
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  await conn.close()
})

test('many calls with random aborts: every call that is not aborted gets its own answer', async () => {
  const engine = engineWithFixture()
  const conn = await engine.connect()
  for (let round = 0; round < 5; round++) {
    const calls = Array.from({ length: 60 }, (_, i) => {
      const controller = new AbortController()
      const value = round * 1000 + i
      const sql =
        i % 7 === 0 ? `SELECT ? AS v FROM (${rangeSql(20_000)}) LIMIT 1 OFFSET 19999` : 'SELECT ? AS v'
      const pending = conn.scalar(sql, [value], { signal: controller.signal })
      const abort = i % 3 === 0
      if (abort) setTimeout(() => controller.abort(value), i % 5)
      return { pending, value, abort }
    })
    for (const { pending, value, abort } of calls) {
      const outcome = await pending.then(
        (v) => ({ v }),
        (error: unknown) => ({ error }),
      )
      if ('v' in outcome) assert.equal(outcome.v, value)
      else {
        assert.ok(abort, `call ${value} failed without being aborted: ${String(outcome.error)}`)
        abortedWith(value)(outcome.error)
      }
    }
  }
  assert.equal(await conn.scalar('SELECT 1'), 1)
  assert.equal(conn.inTransaction, false)
  await conn.close()
})
