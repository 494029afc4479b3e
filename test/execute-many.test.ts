/**
 * `executeMany` with plain parameter lists long enough to be packed into shared memory (and, on
 * the native path, bound and run in C). The oracle is better-sqlite3's prepared-insert loop on a
 * database of its own: the same sets must give the same table, value for value and storage class
 * for storage class, and the same errors, with nothing applied when a set fails.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { AbortError, DatabaseError } from '../src/index.js'
import { tempDbPath, tempEngine } from './helpers.js'

const COLUMNS = ['a', 'b', 'c', 'd']
const CREATE = 'CREATE TABLE t (a, b, c, d)'

/** Every row of `t` with each value's storage class, as better-sqlite3 reads it. */
function readBack(filename: string): unknown[] {
  const db = new Database(filename, { readonly: true })
  try {
    const typed = COLUMNS.map((c) => `${c}, typeof(${c}) AS ${c}_type`).join(', ')
    return db.prepare(`SELECT ${typed} FROM t ORDER BY rowid`).safeIntegers(true).all()
  } finally {
    db.close()
  }
}

/** Inserts `sets` with better-sqlite3's own loop into a fresh database; returns its rows. */
function oracle(sql: string, sets: readonly unknown[]): unknown[] {
  const filename = tempDbPath('oracle.db')
  const db = new Database(filename)
  db.exec(CREATE)
  const insert = db.prepare(sql)
  db.transaction(() => {
    for (const set of sets) insert.run(set as unknown[])
  })()
  db.close()
  return readBack(filename)
}

function filenameOf(engine: { url: string }): string {
  return engine.url.replace(/^sqlite:\/\//, '')
}

const value = fc.oneof(
  fc.constant(null),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.double({ noNaN: true }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
)
const sets = fc.array(fc.tuple(value, value, value, value), { minLength: 33, maxLength: 300 })

test('positional sets: the same table as better-sqlite3, value for value', async () => {
  const engine = tempEngine()
  await engine.exec(CREATE)
  const sql = 'INSERT INTO t VALUES (?, ?, ?, ?)'
  await fc.assert(
    fc.asyncProperty(sets, async (list) => {
      await engine.exec('DELETE FROM t')
      assert.equal(await engine.executeMany(sql, list), list.length)
      assert.deepEqual(readBack(filenameOf(engine)), oracle(sql, list))
    }),
    { numRuns: 25 },
  )
})

test('named sets, in any key order and with prefixed keys, bind by name', async () => {
  const engine = tempEngine()
  await engine.exec(CREATE)
  const sql = 'INSERT INTO t VALUES (:a, @b, $c, :d)'
  await fc.assert(
    fc.asyncProperty(sets, async (list) => {
      await engine.exec('DELETE FROM t')
      const named = list.map(([a, b, c, d], i) => (i % 2 ? { d, c, b, a } : { ':a': a, b, c, d, extra: 1 }))
      await engine.executeMany(sql, named)
      const bare = list.map(([a, b, c, d]) => ({ a, b, c, d }))
      assert.deepEqual(readBack(filenameOf(engine)), oracle(sql, bare))
    }),
    { numRuns: 15 },
  )
})

test('a bad set fails the whole call with the error of that set, and nothing is applied', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (a INTEGER PRIMARY KEY, b)')
  const good = Array.from({ length: 100 }, (_, i) => [i, `row ${i}`])
  const cases: { sets: unknown[][]; check: (error: unknown) => boolean }[] = [
    {
      sets: good.map((set, i) => (i === 60 ? [1, 'duplicate key'] : set)),
      check: (error) => error instanceof DatabaseError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY',
    },
    {
      sets: good.map((set, i) => (i === 70 ? [70] : set)),
      check: (error) => error instanceof RangeError && /Too few parameter values/.test(error.message),
    },
    {
      sets: good.map((set, i) => (i === 80 ? [80, 'x', 'y'] : set)),
      check: (error) => error instanceof RangeError && /Too many parameter values/.test(error.message),
    },
    {
      sets: good.map((set, i) => (i === 90 ? [90, 2n ** 64n] : set)),
      check: (error) => error instanceof RangeError && /too big/.test(error.message),
    },
    {
      sets: good.map((set, i) => (i === 50 ? [50, { not: 'a value' }] : set)),
      check: (error) =>
        error instanceof TypeError &&
        /executeMany \(set 51\): parameter 2 is of unsupported type/.test(error.message),
    },
  ]
  for (const { sets: list, check } of cases) {
    await assert.rejects(engine.executeMany('INSERT INTO t VALUES (?, ?)', list), check)
    assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
  }
  await assert.rejects(
    engine.executeMany(
      'INSERT INTO t VALUES (:a, :b)',
      good.map(([a, b], i) => (i === 40 ? { a } : { a, b })),
    ),
    (error: unknown) => error instanceof RangeError && /Missing named parameter "b"/.test(error.message),
  )
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
  assert.equal(await engine.executeMany('INSERT INTO t VALUES (?, ?)', good), 100)
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 100)
})

test('inside a transaction the sets join it, and its rollback undoes them', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (a)')
  const list = Array.from({ length: 64 }, (_, i) => [i])
  await assert.rejects(
    engine.transaction(async (conn) => {
      await conn.executeMany('INSERT INTO t VALUES (?)', list)
      assert.equal(await conn.scalar('SELECT count(*) FROM t'), 64)
      throw new Error('roll back')
    }),
    /roll back/,
  )
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
})

test('a cancelled executeMany applies all of its sets or none, and the connection goes on', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (a, b)')
  const list = Array.from({ length: 300_000 }, (_, i) => [i, `value ${i}`])
  const conn = await engine.connect()
  for (const delay of [0, 5, 30]) {
    await conn.exec('DELETE FROM t')
    const controller = new AbortController()
    setTimeout(() => controller.abort(), delay)
    const outcome = await conn
      .executeMany('INSERT INTO t VALUES (?, ?)', list, { signal: controller.signal })
      .then(
        (changes) => changes,
        (error: unknown) => {
          assert.ok(error instanceof AbortError, String(error))
          return 0
        },
      )
    assert.equal(await conn.scalar('SELECT count(*) FROM t'), outcome)
    assert.equal(conn.inTransaction, false)
  }
  assert.equal(await conn.scalar('SELECT 1'), 1)
  await conn.close()
})
