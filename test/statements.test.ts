/**
 * The ways to send SQL: compiled-query objects (`{sql, parameters}` like Kysely's, or anything
 * with `compile()`), `exec` scripts, `executeMany` (one round trip, total rowcount, atomic), and
 * the `logger` option that sees each statement with its parameters and elapsed time.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DatabaseError } from '../src/index.js'
import { tempEngine } from './helpers.js'

test('compiled query objects {sql, parameters} run like strings with params', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)')
  const insert = { sql: 'INSERT INTO users (name) VALUES (?)', parameters: ['Dana Whitaker'] as const }
  const result = await engine.execute(insert)
  assert.equal(result.rowcount, 1)
  assert.equal(
    await engine.scalar({ sql: 'SELECT name FROM users WHERE id = ?', parameters: [1] }),
    'Dana Whitaker',
  )
  const conn = await engine.connect()
  const rows = await (await conn.execute({ sql: 'SELECT id, name FROM users', parameters: [] })).fetchall()
  assert.deepEqual(rows, [{ id: 1, name: 'Dana Whitaker' }])
  await conn.close()
})

test('objects with compile() are compiled and run (Kysely style)', async () => {
  const engine = tempEngine()
  let compiled = 0
  class SelectBuilder {
    constructor(readonly value: number) {}
    compile(): { sql: string; parameters: unknown[]; query: unknown } {
      compiled++
      return { sql: 'SELECT ? + 1 AS next', parameters: [this.value], query: { kind: 'SelectQueryNode' } }
    }
  }
  assert.deepEqual(await (await engine.execute(new SelectBuilder(41))).fetchall(), [{ next: 42 }])
  assert.equal(await engine.scalar(new SelectBuilder(1)), 2)
  assert.equal(compiled, 2)
  const conn = await engine.connect()
  assert.equal(await conn.scalar({ compile: () => ({ sql: "SELECT 'x'", parameters: [] }) }), 'x')
  await conn.close()
})

test('a compiled query with a bad parameter is a TypeError naming it', async () => {
  const engine = tempEngine()
  await assert.rejects(
    engine.execute({ sql: 'SELECT ?, ?', parameters: [1, { nested: true }] }),
    (error: unknown) => error instanceof TypeError && /parameter 2/.test(error.message),
  )
  assert.equal(await engine.scalar('SELECT 1'), 1)
})

test('exec runs a script of several statements and resolves to undefined', async () => {
  const engine = tempEngine()
  const value = await engine.exec(`
    CREATE TABLE a (x INTEGER);
    CREATE TABLE b (y TEXT);
    INSERT INTO a VALUES (1), (2);
    INSERT INTO b VALUES ('one');
    SELECT * FROM a; -- rows of a SELECT in a script are discarded
  `)
  assert.equal(value, undefined)
  assert.deepEqual(await engine.tableNames(), ['a', 'b'])
  assert.equal(await engine.scalar('SELECT sum(x) FROM a'), 3)
  const conn = await engine.connect()
  await conn.exec('INSERT INTO a VALUES (3); INSERT INTO a VALUES (4)')
  assert.equal(await conn.scalar('SELECT count(*) FROM a'), 4)
  await conn.close()
})

test('executeMany runs one statement per parameter set and returns the total rowcount', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, age INTEGER)')
  const names = ['Jeremy Goodwin', 'Natalie Hurley', 'Dan Rydell', 'Casey McCall', 'Dana Whitaker']
  assert.equal(
    await engine.executeMany(
      'INSERT INTO users (name) VALUES (?)',
      names.map((n) => [n]),
    ),
    5,
  )
  // Named parameters, and updates touching several rows per set.
  assert.equal(
    await engine.executeMany('UPDATE users SET age = :age WHERE name LIKE :pattern', [
      { age: 30, pattern: 'D%' },
      { age: 40, pattern: '%a%' },
      { age: 50, pattern: 'nobody' },
    ]),
    2 + 4,
  )
  assert.equal(await engine.executeMany('DELETE FROM users WHERE id = ?', []), 0)
  assert.deepEqual(await (await engine.execute('SELECT name FROM users ORDER BY id')).scalars(), names)
})

test('executeMany with many sets is one call', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (i INTEGER, s TEXT)')
  const sets = Array.from({ length: 20_000 }, (_, i) => [i, `row ${i}`])
  assert.equal(await engine.executeMany('INSERT INTO t VALUES (?, ?)', sets), 20_000)
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 20_000)
  assert.equal(await engine.scalar('SELECT s FROM t WHERE i = 12345'), 'row 12345')
})

test('executeMany is atomic: a failing set undoes the sets before it', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x INTEGER UNIQUE)')
  await assert.rejects(
    engine.executeMany('INSERT INTO t VALUES (?)', [[1], [2], [3], [2], [4]]),
    (error: unknown) => error instanceof DatabaseError && error.code === 'SQLITE_CONSTRAINT_UNIQUE',
  )
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
})

test('executeMany inside a transaction: a failure undoes only its own sets', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x INTEGER UNIQUE)')
  const conn = await engine.connect()
  const tx = await conn.begin()
  await conn.execute('INSERT INTO t VALUES (100)')
  assert.equal(await conn.executeMany('INSERT INTO t VALUES (?)', [[1], [2]]), 2)
  await assert.rejects(conn.executeMany('INSERT INTO t VALUES (?)', [[3], [100]]), DatabaseError)
  assert.equal(conn.inTransaction, true)
  await tx.commit()
  assert.deepEqual(await (await engine.execute('SELECT x FROM t ORDER BY x')).scalars(), [1, 2, 100])
  await conn.close()
})

test('logger sees every statement with its params and elapsed time', async () => {
  const calls: { sql: string; params: unknown; elapsedMs: number }[] = []
  const engine = tempEngine({ logger: (sql, params, elapsedMs) => calls.push({ sql, params, elapsedMs }) })
  await engine.exec('CREATE TABLE t (x)')
  await engine.execute('INSERT INTO t VALUES (?)', [1])
  await engine.executeMany('INSERT INTO t VALUES (?)', [[2], [3]])
  const conn = await engine.connect()
  assert.equal(await conn.scalar('SELECT count(*) FROM t WHERE x > :min', { min: 0 }), 3)
  await conn.execute({ sql: 'SELECT ?', parameters: ['compiled'] })
  await conn.close()
  const sqls = calls.map((c) => c.sql)
  assert.ok(sqls.includes('CREATE TABLE t (x)'))
  const insert = calls.find(
    (c) => c.sql === 'INSERT INTO t VALUES (?)' && Array.isArray(c.params) && c.params[0] === 1,
  )
  assert.ok(insert, `no log of the insert in ${JSON.stringify(sqls)}`)
  assert.ok(
    calls.some((c) => c.sql === 'INSERT INTO t VALUES (?)' && JSON.stringify(c.params) === '[[2],[3]]'),
  )
  const named = calls.find((c) => c.sql === 'SELECT count(*) FROM t WHERE x > :min')
  assert.ok(named)
  assert.deepEqual(named.params, { min: 0 })
  assert.ok(calls.some((c) => c.sql === 'SELECT ?' && JSON.stringify(c.params) === '["compiled"]'))
  for (const call of calls) {
    assert.equal(typeof call.elapsedMs, 'number')
    assert.ok(call.elapsedMs >= 0 && Number.isFinite(call.elapsedMs))
  }
})

test('logger is called for failing statements too', async () => {
  const sqls: string[] = []
  const engine = tempEngine({ logger: (sql) => sqls.push(sql) })
  await assert.rejects(engine.execute('SELEC 1'), DatabaseError)
  assert.deepEqual(sqls, ['SELEC 1'])
})

test('hasTable sees tables and views; tableNames lists user tables only, sorted', async () => {
  const engine = tempEngine()
  await engine.exec(`
    CREATE TABLE zebra (x INTEGER PRIMARY KEY AUTOINCREMENT);
    CREATE TABLE "Apple pie" (x);
    CREATE VIEW v AS SELECT 1;
    CREATE INDEX zebra_x ON zebra (x);
    INSERT INTO zebra DEFAULT VALUES;
  `)
  assert.equal(await engine.hasTable('zebra'), true)
  assert.equal(await engine.hasTable('Apple pie'), true)
  assert.equal(await engine.hasTable('v'), true)
  assert.equal(await engine.hasTable('zebra_x'), false)
  assert.equal(await engine.hasTable("x' OR '1'='1"), false)
  // sqlite_sequence (from AUTOINCREMENT) is SQLite's own, not listed.
  assert.deepEqual(await engine.tableNames(), ['Apple pie', 'zebra'])
  await assert.rejects(engine.hasTable(42 as never), TypeError)
})

test('a logger that throws: the call still answers, a warning says so, nothing hangs', async () => {
  const warnings: Error[] = []
  const unhandled: unknown[] = []
  const onWarning = (warning: Error): void => {
    warnings.push(warning)
  }
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }
  process.on('warning', onWarning)
  process.on('unhandledRejection', onUnhandled)
  try {
    const engine = tempEngine({
      logger: () => {
        throw new Error('logger bug')
      },
    })
    assert.equal(await engine.scalar('SELECT 1'), 1)
    const conn = await engine.connect()
    assert.equal(await conn.scalar('SELECT 2'), 2)
    await assert.rejects(conn.execute('SELEC 3'), DatabaseError)
    assert.equal(await conn.scalar('SELECT 4'), 4)
    await conn.close()
    await engine.dispose()
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(unhandled, [])
    assert.ok(
      warnings.some((w) => /logger bug/.test(w.message)),
      `no warning about the logger in ${JSON.stringify(warnings.map((w) => w.message))}`,
    )
  } finally {
    process.off('warning', onWarning)
    process.off('unhandledRejection', onUnhandled)
  }
})
