/**
 * Worker crashes (issue 5): a worker that exits (`process.exit()` in a runInWorker function) or
 * runs out of its `resourceLimits` heap. Every pending call on it rejects with
 * WorkerCrashedError, a connection pinned to it is closed (later calls reject with ClosedError),
 * the engine keeps serving with a fresh worker, and nothing committed is lost.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClosedError, type Connection, type Engine, WorkerCrashedError } from '../src/index.js'
import { tempEngine } from './helpers.js'
import { rangeSql, workerFixture } from './stress/support.js'

const fixture = workerFixture()

function crashed(error: unknown): boolean {
  assert.ok(error instanceof WorkerCrashedError, `expected WorkerCrashedError, got ${String(error)}`)
  assert.equal(error.code, 'ERR_SQLAIO_WORKER_CRASHED')
  assert.ok(error.message.length > 0)
  return true
}

/** Commits rows 1..3 (one in a transaction on a connection) and returns the engine. */
async function engineWithCommittedRows(engine: Engine): Promise<Engine> {
  await engine.exec('CREATE TABLE t (x INTEGER PRIMARY KEY)')
  await engine.execute('INSERT INTO t VALUES (1)')
  await engine.executeMany('INSERT INTO t VALUES (?)', [[2]])
  await engine.transaction(async (c) => c.execute('INSERT INTO t VALUES (3)'))
  return engine
}

async function rows(engine: Engine): Promise<unknown[]> {
  return (await engine.execute('SELECT x FROM t ORDER BY x')).scalars()
}

/** Queues calls of every kind behind `killer` on `conn`, and checks they all reject as crashed. */
async function crashWithPending(conn: Connection, killer: Promise<unknown>): Promise<void> {
  const pending = [
    killer,
    conn.scalar('SELECT 1'),
    conn.execute('INSERT INTO t VALUES (100)'),
    conn.exec('INSERT INTO t VALUES (101)'),
    conn.executeMany('INSERT INTO t VALUES (?)', [[102]]),
    conn.runInWorker(fixture, 'threadId'),
  ]
  const outcomes = await Promise.allSettled(pending)
  for (const outcome of outcomes) {
    assert.equal(outcome.status, 'rejected')
    crashed((outcome as PromiseRejectedResult).reason)
  }
}

async function assertClosedAfterCrash(conn: Connection): Promise<void> {
  assert.equal(conn.closed, true)
  await assert.rejects(conn.scalar('SELECT 1'), ClosedError)
  await assert.rejects(conn.exec('SELECT 1'), ClosedError)
  await assert.rejects(conn.runInWorker(fixture, 'threadId'), ClosedError)
  await assert.rejects(conn.begin(), ClosedError)
  // Closing a crashed connection settles at once (it is already closed).
  await conn.close().catch((error: unknown) => assert.ok(error instanceof ClosedError))
}

test('process.exit() in a connection worker: pending calls reject, the connection is closed', async () => {
  const engine = await engineWithCommittedRows(tempEngine({ setup: fixture }))
  const conn = await engine.connect()
  const before = await conn.runInWorker(fixture, 'threadId')
  // An uncommitted transaction dies with the worker.
  await conn.exec('BEGIN')
  await conn.execute('INSERT INTO t VALUES (50)')
  await crashWithPending(conn, conn.runInWorker(fixture, 'exit', 7))
  await assertClosedAfterCrash(conn)
  // The engine keeps serving: a new connection runs on a different, fresh worker.
  const fresh = await engine.connect()
  assert.notEqual(await fresh.runInWorker(fixture, 'threadId'), before)
  assert.equal(fresh.inTransaction, false)
  assert.deepEqual(await rows(engine), [1, 2, 3])
  await fresh.transaction(async (c) => c.execute('INSERT INTO t VALUES (4)'))
  await fresh.close()
  assert.deepEqual(await rows(engine), [1, 2, 3, 4])
})

test('the crash error says how the worker exited', async () => {
  const engine = tempEngine({ setup: fixture })
  const conn = await engine.connect()
  await assert.rejects(conn.runInWorker(fixture, 'exit', 9), (error: unknown) => {
    crashed(error)
    assert.equal((error as WorkerCrashedError).exitCode, 9)
    assert.match((error as Error).message, /9/)
    return true
  })
  await assertClosedAfterCrash(conn)
})

test('process.exit() in the engine worker: pending implicit calls reject, the next call gets a new worker', async () => {
  const engine = await engineWithCommittedRows(tempEngine({ setup: fixture }))
  const before = await engine.runInWorker(fixture, 'threadId')
  const pending = [
    engine.runInWorker(fixture, 'exit', 3),
    engine.scalar('SELECT 1'),
    engine.execute('INSERT INTO t VALUES (200)'),
  ]
  for (const outcome of await Promise.allSettled(pending)) {
    assert.equal(outcome.status, 'rejected')
    crashed((outcome as PromiseRejectedResult).reason)
  }
  assert.equal(await engine.scalar('SELECT 2'), 2)
  assert.notEqual(await engine.runInWorker(fixture, 'threadId'), before)
  assert.deepEqual(await rows(engine), [1, 2, 3])
  // Other connections are not affected by the engine worker's death.
  const conn = await engine.connect()
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 3)
  await conn.close()
})

test('a crash while a result is streaming fails its reads with WorkerCrashedError', async () => {
  // hog() retains memory for every row it produces: the worker dies part-way through the stream.
  const engine = tempEngine({
    setup: fixture,
    batchRows: 100,
    prefetchBatches: 2,
    resourceLimits: { maxOldGenerationSizeMb: 16 },
  })
  const conn = await engine.connect()
  const result = await conn.execute(rangeSql(1_000_000, 'hog(x)'))
  assert.equal((await result.fetchmany(10)).length, 10)
  await assert.rejects(result.fetchall(), crashed)
  await assert.rejects(result.fetchone(), Error)
  result.close()
  await assertClosedAfterCrash(conn)
})

test('resourceLimits: a worker function exhausting a 16 MB heap crashes only its worker', async () => {
  const engine = await engineWithCommittedRows(
    tempEngine({ setup: fixture, resourceLimits: { maxOldGenerationSizeMb: 16 } }),
  )
  const conn = await engine.connect()
  await crashWithPending(conn, conn.runInWorker(fixture, 'exhaustHeap'))
  await assertClosedAfterCrash(conn)
  // The engine worker is a different thread: it is unaffected.
  assert.deepEqual(await rows(engine), [1, 2, 3])
  const fresh = await engine.connect()
  assert.equal(await fresh.scalar('SELECT count(*) FROM t'), 3)
  await fresh.close()
})

test('resourceLimits: a query too big for a 16 MB heap crashes its worker; the engine replaces it', async () => {
  const engine = await engineWithCommittedRows(
    tempEngine({ setup: fixture, resourceLimits: { maxOldGenerationSizeMb: 16 } }),
  )
  // hog() keeps 4 KB strings and 1024-slot arrays for every row: far more than 16 MB.
  const pending = [
    engine.scalar(`SELECT count(hog(x)) FROM (${rangeSql(1_000_000)})`),
    engine.scalar('SELECT 1'),
    engine.execute('INSERT INTO t VALUES (300)'),
  ]
  for (const outcome of await Promise.allSettled(pending)) {
    assert.equal(outcome.status, 'rejected')
    crashed((outcome as PromiseRejectedResult).reason)
  }
  assert.equal(await engine.scalar('SELECT 6'), 6)
  assert.deepEqual(await rows(engine), [1, 2, 3])
  // On a connection too.
  const conn = await engine.connect()
  await crashWithPending(conn, conn.scalar(`SELECT count(hog(x)) FROM (${rangeSql(1_000_000)})`))
  await assertClosedAfterCrash(conn)
  assert.deepEqual(await rows(engine), [1, 2, 3])
})

test('a crash in the middle of a transaction loses only that uncommitted transaction', async () => {
  const engine = await engineWithCommittedRows(tempEngine({ setup: fixture }))
  const conn = await engine.connect()
  const tx = await conn.begin()
  await conn.executeMany('INSERT INTO t VALUES (?)', [[10], [11], [12]])
  await assert.rejects(conn.runInWorker(fixture, 'exit', 1), crashed)
  await assert.rejects(tx.commit(), ClosedError)
  assert.deepEqual(await rows(engine), [1, 2, 3])
  // The lock held by the dead worker's transaction is gone: writers proceed.
  await engine.execute('INSERT INTO t VALUES (13)')
  assert.deepEqual(await rows(engine), [1, 2, 3, 13])
  await assertClosedAfterCrash(conn)
})
