/**
 * Contention (issue 5): two connections writing one file. Busy waits respect `busyTimeoutMs`,
 * then fail with a clear DatabaseError (SQLITE_BUSY); in WAL mode readers proceed while a writer
 * holds a transaction.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DatabaseError } from '../src/index.js'
import { tempEngine } from './helpers.js'
import { sleep, slowScalarSql } from './stress/support.js'

function busy(error: unknown): boolean {
  assert.ok(error instanceof DatabaseError, `expected a DatabaseError, got ${String(error)}`)
  assert.match(error.code, /^SQLITE_BUSY/)
  assert.match(error.message, /locked|busy/i)
  assert.equal(typeof error.sql, 'string')
  return true
}

test('a second writer waits busyTimeoutMs, then fails with SQLITE_BUSY; the lock holder is unaffected', async () => {
  const engine = tempEngine({ busyTimeoutMs: 300 })
  await engine.exec('CREATE TABLE t (x)')
  const a = await engine.connect()
  const b = await engine.connect()
  await a.exec('BEGIN IMMEDIATE')
  await a.execute('INSERT INTO t VALUES (1)')
  const started = performance.now()
  await assert.rejects(b.execute('INSERT INTO t VALUES (2)'), busy)
  const waited = performance.now() - started
  // SQLite's busy handler sleeps in steps, so allow some slack below the timeout.
  assert.ok(waited >= 250, `gave up after ${waited.toFixed(0)} ms, before busyTimeoutMs (300)`)
  assert.ok(waited < 3000, `waited ${waited.toFixed(0)} ms for a 300 ms busy timeout`)
  assert.equal(b.inTransaction, false)
  // The holder commits; the loser retries and succeeds.
  await a.exec('COMMIT')
  await b.execute('INSERT INTO t VALUES (2)')
  assert.deepEqual(await (await engine.execute('SELECT x FROM t ORDER BY x')).scalars(), [1, 2])
  await a.close()
  await b.close()
})

test('busyTimeoutMs 0 fails at once', async () => {
  const engine = tempEngine({ busyTimeoutMs: 0 })
  await engine.exec('CREATE TABLE t (x)')
  const a = await engine.connect()
  const b = await engine.connect()
  await a.exec('BEGIN IMMEDIATE')
  const started = performance.now()
  await assert.rejects(b.exec('BEGIN IMMEDIATE'), busy)
  assert.ok(performance.now() - started < 1000)
  await a.exec('ROLLBACK')
  await a.close()
  await b.close()
})

test('a writer that finds the lock held proceeds as soon as it is released within busyTimeoutMs', async () => {
  const engine = tempEngine({ busyTimeoutMs: 5000 })
  await engine.exec('CREATE TABLE t (x)')
  const a = await engine.connect()
  const b = await engine.connect()
  await a.exec('BEGIN IMMEDIATE')
  await a.execute('INSERT INTO t VALUES (1)')
  const started = performance.now()
  const waiting = b.execute('INSERT INTO t VALUES (2)')
  await sleep(150)
  await a.exec('COMMIT')
  const result = await waiting
  const waited = performance.now() - started
  assert.equal(result.rowcount, 1)
  assert.ok(waited >= 100, `the second writer did not wait (${waited.toFixed(0)} ms)`)
  assert.ok(waited < 4000, `the second writer waited ${waited.toFixed(0)} ms after the lock was released`)
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 2)
  await a.close()
  await b.close()
})

test('WAL mode: readers proceed while a writer holds a transaction, and see only committed rows', async () => {
  const engine = tempEngine({ busyTimeoutMs: 200 })
  await engine.exec('PRAGMA journal_mode = WAL')
  assert.equal(await engine.scalar('PRAGMA journal_mode'), 'wal')
  await engine.exec('CREATE TABLE t (x)')
  await engine.executeMany('INSERT INTO t VALUES (?)', [[1], [2], [3]])
  const writer = await engine.connect()
  const readers = await Promise.all([engine.connect(), engine.connect()])
  await writer.exec('BEGIN IMMEDIATE')
  await writer.executeMany('INSERT INTO t VALUES (?)', [[4], [5]])
  assert.equal(await writer.scalar('SELECT count(*) FROM t'), 5)
  // Readers run many queries while the write transaction stays open: none waits for the lock.
  const started = performance.now()
  for (let i = 0; i < 20; i++) {
    const counts = await Promise.all([
      ...readers.map((r) => r.scalar('SELECT count(*) FROM t')),
      engine.scalar('SELECT sum(x) FROM t'),
    ])
    assert.deepEqual(counts, [3, 3, 6])
  }
  // A long read in a reader's own transaction, while the writer commits.
  const reader = readers[0]!
  await reader.exec('BEGIN')
  assert.equal(await reader.scalar('SELECT count(*) FROM t'), 3)
  const slowRead = readers[1]!.scalar(slowScalarSql(300_000))
  await writer.exec('COMMIT')
  assert.equal(typeof (await slowRead), 'number')
  // The reader's snapshot is stable until it ends its transaction.
  assert.equal(await reader.scalar('SELECT count(*) FROM t'), 3)
  await reader.exec('COMMIT')
  assert.equal(await reader.scalar('SELECT count(*) FROM t'), 5)
  const elapsed = performance.now() - started
  assert.ok(elapsed < 5000, `reads took ${elapsed.toFixed(0)} ms next to an open write transaction`)
  // A second writer still gets SQLITE_BUSY after its timeout.
  await writer.exec('BEGIN IMMEDIATE')
  await assert.rejects(readers[1]!.exec('BEGIN IMMEDIATE'), busy)
  await writer.exec('ROLLBACK')
  await writer.close()
  for (const r of readers) await r.close()
})
