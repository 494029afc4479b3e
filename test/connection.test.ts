/**
 * Connections, ported from sqlalchemy_aio's test_connection: execute, scalar, close, the
 * errors after close, `inTransaction`, and the interrupted run (sqlalchemy_aio bug #20): a call
 * abandoned mid-flight must not hand its answer to the next call on the same connection.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AbortError, ClosedError, Connection, createEngine } from '../src/index.js'
import { SLOW_SCALAR_SQL, tempEngine } from './helpers.js'

/** The row path under test (SQLAIO_NATIVE=off|auto|require), as for tempEngine(). */
const NATIVE = (process.env.SQLAIO_NATIVE ?? 'auto') as 'off' | 'auto' | 'require'

test('connect() gives an open Connection', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  assert.ok(conn instanceof Connection)
  assert.equal(conn.closed, false)
  assert.equal(conn.inTransaction, false)
  await conn.close()
  assert.equal(conn.closed, true)
})

test('connection execute and scalar', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  await conn.execute('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)')
  const insert = await conn.execute('INSERT INTO users (name) VALUES (?)', ['Jeremy Goodwin'])
  assert.equal(insert.returnsRows, false)
  assert.equal(insert.rowcount, 1)
  assert.equal(insert.lastInsertRowid, 1)
  const result = await conn.execute('SELECT id, name FROM users')
  assert.deepEqual(await result.fetchall(), [{ id: 1, name: 'Jeremy Goodwin' }])
  assert.equal(await conn.scalar('SELECT 1'), 1)
  assert.equal(await conn.scalar('SELECT name FROM users WHERE id = ?', [1]), 'Jeremy Goodwin')
  assert.equal(await conn.scalar('SELECT name FROM users WHERE id = ?', [99]), null)
  await conn.close()
})

test('a connection sees what another connection committed', async () => {
  const engine = tempEngine()
  const a = await engine.connect()
  const b = await engine.connect()
  await a.exec('CREATE TABLE t (x INTEGER)')
  await a.execute('INSERT INTO t VALUES (42)')
  assert.equal(await b.scalar('SELECT x FROM t'), 42)
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 1)
  await a.close()
  await b.close()
})

test('every call after close rejects with ClosedError, and close() twice rejects', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  await conn.close()
  await assert.rejects(conn.execute('SELECT 1'), ClosedError)
  await assert.rejects(conn.scalar('SELECT 1'), ClosedError)
  await assert.rejects(conn.exec('SELECT 1'), ClosedError)
  await assert.rejects(conn.executeMany('SELECT 1', []), ClosedError)
  await assert.rejects(conn.begin(), ClosedError)
  await assert.rejects(conn.beginNested(), ClosedError)
  await assert.rejects(
    conn.transaction(async () => {}),
    ClosedError,
  )
  await assert.rejects(conn.close(), (error: unknown) => {
    assert.ok(error instanceof ClosedError)
    assert.equal(error.code, 'ERR_SQLAIO_CLOSED')
    return true
  })
  // asyncDispose after close does not throw: `await using` on a closed connection is fine.
  await conn[Symbol.asyncDispose]()
  // The engine itself is unaffected.
  assert.equal(await engine.scalar('SELECT 3'), 3)
})

test('asyncDispose closes the connection', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  await conn[Symbol.asyncDispose]()
  assert.equal(conn.closed, true)
  await assert.rejects(conn.execute('SELECT 1'), ClosedError)
})

test('closing a connection closes its open results', async () => {
  const engine = tempEngine({ batchRows: 2 })
  const conn = await engine.connect()
  const result = await conn.execute('SELECT value FROM json_each(?)', [JSON.stringify([1, 2, 3, 4, 5, 6, 7])])
  assert.deepEqual(await result.fetchone(), { value: 1 })
  await conn.close()
  assert.equal(result.closed, true)
  await assert.rejects(result.fetchall(), ClosedError)
})

test('closing a connection rolls back its open transaction', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x INTEGER)')
  const conn = await engine.connect()
  await conn.begin()
  await conn.execute('INSERT INTO t VALUES (1)')
  assert.equal(conn.inTransaction, true)
  await conn.close()
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
  // The pooled worker comes back without a transaction.
  const again = await engine.connect()
  assert.equal(again.inTransaction, false)
  assert.equal(await again.scalar('SELECT count(*) FROM t'), 0)
  await again.close()
})

test('inTransaction follows BEGIN, COMMIT and ROLLBACK, including raw SQL', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  await conn.exec('CREATE TABLE t (x INTEGER)')
  assert.equal(conn.inTransaction, false)
  const tx = await conn.begin()
  assert.equal(conn.inTransaction, true)
  await tx.commit()
  assert.equal(conn.inTransaction, false)
  await conn.execute('BEGIN')
  assert.equal(conn.inTransaction, true)
  await conn.execute('ROLLBACK')
  assert.equal(conn.inTransaction, false)
  await conn.exec('BEGIN; INSERT INTO t VALUES (1)')
  assert.equal(conn.inTransaction, true)
  await conn.exec('COMMIT')
  assert.equal(conn.inTransaction, false)
  await conn.close()
})

test('connections are reused from the pool and keep working', async () => {
  const engine = tempEngine({ poolSize: 2 })
  await engine.exec('CREATE TABLE t (x INTEGER)')
  for (let i = 0; i < 20; i++) {
    const conn = await engine.connect()
    await conn.execute('INSERT INTO t VALUES (?)', [i])
    assert.equal(await conn.scalar('SELECT count(*) FROM t'), i + 1)
    await conn.close()
  }
  assert.equal(await engine.scalar('SELECT sum(x) FROM t'), (19 * 20) / 2)
})

test('interrupted run: an aborted slow call does not hand its answer to the next call', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  const controller = new AbortController()
  const reason = new Error('user gave up')
  const slow = conn.scalar(SLOW_SCALAR_SQL, [], { signal: controller.signal })
  setTimeout(() => controller.abort(reason), 30)
  await assert.rejects(slow, (error: unknown) => {
    assert.ok(error instanceof AbortError)
    assert.equal(error.code, 'ABORT_ERR')
    assert.equal(error.cause, reason)
    return true
  })
  // The next calls on the same connection get their own answers, in order.
  assert.equal(await conn.scalar('SELECT 2'), 2)
  assert.deepEqual(await (await conn.execute("SELECT 'three' AS x")).fetchall(), [{ x: 'three' }])
  assert.equal(await conn.scalar('SELECT 4'), 4)
  await conn.close()
})

test('interrupted run: calls issued while the aborted one still runs get their own answers', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  const controller = new AbortController()
  const slow = conn.scalar(SLOW_SCALAR_SQL, [], { signal: controller.signal })
  const next = [conn.scalar('SELECT 10'), conn.scalar('SELECT 11'), conn.scalar("SELECT 'twelve'")]
  controller.abort()
  await assert.rejects(slow, AbortError)
  assert.deepEqual(await Promise.all(next), [10, 11, 'twelve'])
  await conn.close()
})

test('interrupted run: aborting a queued call skips it and keeps the order of the others', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  await conn.exec('CREATE TABLE t (x INTEGER)')
  const controller = new AbortController()
  const first = conn.execute(SLOW_SCALAR_SQL)
  const aborted = conn.execute('INSERT INTO t VALUES (1)', [], { signal: controller.signal })
  const after = conn.scalar('SELECT count(*) FROM t')
  controller.abort()
  await assert.rejects(aborted, AbortError)
  assert.ok((await (await first).scalar()) !== null)
  // The insert was aborted before it could start, so it never ran; `after` has its own answer.
  assert.equal(await after, 0)
  assert.equal(await conn.scalar('SELECT 5'), 5)
  await conn.close()
})

test('interrupted run: aborting a streaming result fails its reads, not the next call', async () => {
  const engine = tempEngine({ batchRows: 10 })
  const conn = await engine.connect()
  const controller = new AbortController()
  const result = await conn.execute(
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) SELECT x FROM c',
    [],
    { signal: controller.signal },
  )
  assert.deepEqual(await result.fetchmany(3), [{ x: 1 }, { x: 2 }, { x: 3 }])
  controller.abort('stop')
  await assert.rejects(result.fetchone(), (error: unknown) => {
    assert.ok(error instanceof AbortError)
    assert.equal(error.cause, 'stop')
    return true
  })
  assert.deepEqual(await (await conn.execute('SELECT 7 AS n')).fetchall(), [{ n: 7 }])
  await conn.close()
})

test('an already-aborted signal rejects at once and runs nothing', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  await conn.exec('CREATE TABLE t (x INTEGER)')
  const reason = new Error('before start')
  await assert.rejects(
    conn.execute('INSERT INTO t VALUES (1)', [], { signal: AbortSignal.abort(reason) }),
    (error: unknown) => error instanceof AbortError && error.cause === reason,
  )
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  await conn.close()
})

test('abort of exec and executeMany behaves the same way', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  await conn.exec('CREATE TABLE t (x INTEGER)')
  const c1 = new AbortController()
  const slow = conn.execute(SLOW_SCALAR_SQL)
  const execCall = conn.exec('INSERT INTO t VALUES (1)', { signal: c1.signal })
  const c2 = new AbortController()
  const manyCall = conn.executeMany('INSERT INTO t VALUES (?)', [[2], [3]], { signal: c2.signal })
  c1.abort()
  c2.abort()
  await assert.rejects(execCall, AbortError)
  await assert.rejects(manyCall, AbortError)
  ;(await slow).close()
  assert.equal(await conn.scalar("SELECT 'ok'"), 'ok')
  // Both were aborted while queued behind the slow query: neither ran.
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  await conn.close()
})

test('dispose() while calls are in flight rejects them with ClosedError and closes connections', async () => {
  const engine = createEngine('sqlite://', { native: NATIVE })
  const conn = await engine.connect()
  await engine.scalar('SELECT 1')
  const onConnection = conn.scalar(SLOW_SCALAR_SQL)
  const onEngine = engine.scalar(SLOW_SCALAR_SQL)
  const disposed = engine.dispose()
  await assert.rejects(onConnection, ClosedError)
  await assert.rejects(onEngine, ClosedError)
  await disposed
  assert.equal(conn.closed, true)
  await assert.rejects(conn.execute('SELECT 1'), ClosedError)
  await assert.rejects(engine.scalar('SELECT 1'), ClosedError)
})

test('close() while a call is in flight: the call settles, then the connection closes', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  const pending = conn.scalar(SLOW_SCALAR_SQL).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
  await conn.close()
  const outcome = await pending
  if ('value' in outcome) assert.equal(outcome.value, (2_000_000 * 2_000_001) / 2)
  else assert.ok(outcome.error instanceof ClosedError || outcome.error instanceof AbortError)
  assert.equal(conn.closed, true)
  // The engine hands out a working connection afterwards (the pooled worker was reset).
  const next = await engine.connect()
  assert.equal(next.inTransaction, false)
  assert.equal(await next.scalar('SELECT 9'), 9)
  await next.close()
})
