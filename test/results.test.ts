/**
 * AsyncResult, ported from sqlalchemy_aio's test_result (fetchone, fetchmany sized and unsized,
 * fetchall, scalar, first, keys, returnsRows, rowcount, lastInsertRowid, async iteration), plus
 * what sqlaio adds: scalars, one, batches, toArrow, column, array rows, intMode per call.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RecordBatch, Table, Vector } from 'apache-arrow'
import Database from 'better-sqlite3'
import { AsyncResult, ClosedError, type Engine, ResultError } from '../src/index.js'
import { countSql, tempEngine } from './helpers.js'

const USERS = ['Jeremy Goodwin', 'Natalie Hurley', 'Dan Rydell', 'Casey McCall', 'Dana Whitaker']

/** An engine with the seed's users table. */
async function usersEngine(options?: Parameters<typeof tempEngine>[0]): Promise<Engine> {
  const engine = tempEngine(options)
  await engine.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)')
  await engine.executeMany(
    'INSERT INTO users (name) VALUES (?)',
    USERS.map((name) => [name]),
  )
  return engine
}

const user = (i: number): { id: number; name: string } => ({ id: i + 1, name: USERS[i]! })

// Every test runs twice: with the default batch size, and with 2 rows per batch so that reads
// cross batch boundaries.
for (const batchRows of [undefined, 2]) {
  const label = batchRows ? ` (batchRows ${batchRows})` : ''

  test(`fetchone returns rows in order, then null${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT id, name FROM users ORDER BY id')
    assert.ok(result instanceof AsyncResult)
    for (let i = 0; i < USERS.length; i++) assert.deepEqual(await result.fetchone(), user(i))
    assert.equal(await result.fetchone(), null)
    assert.equal(await result.fetchone(), null)
  })

  test(`fetchmany with a size${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT id, name FROM users ORDER BY id')
    assert.deepEqual(await result.fetchmany(3), [user(0), user(1), user(2)])
    assert.deepEqual(await result.fetchmany(3), [user(3), user(4)])
    assert.deepEqual(await result.fetchmany(3), [])
  })

  test(`fetchmany without a size returns one row (DB-API arraysize)${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT id, name FROM users ORDER BY id')
    assert.deepEqual(await result.fetchmany(), [user(0)])
    assert.deepEqual(await result.fetchmany(), [user(1)])
    assert.deepEqual(await result.fetchmany(0), [])
    assert.deepEqual(await result.fetchall(), [user(2), user(3), user(4)])
    assert.deepEqual(await result.fetchmany(), [])
  })

  test(`fetchall after partial reads returns the rest${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT id, name FROM users ORDER BY id')
    assert.deepEqual(await result.fetchone(), user(0))
    assert.deepEqual(await result.fetchall(), [user(1), user(2), user(3), user(4)])
    assert.deepEqual(await result.fetchall(), [])
    assert.equal(await result.fetchone(), null)
  })

  test(`async iteration yields every row${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT id, name FROM users ORDER BY id')
    const rows = []
    for await (const row of result) rows.push(row)
    assert.deepEqual(
      rows,
      USERS.map((_, i) => user(i)),
    )
  })

  test(`async iteration can stop early and the connection goes on${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const conn = await engine.connect()
    const result = await conn.execute('SELECT id, name FROM users ORDER BY id')
    const rows = []
    for await (const row of result) {
      rows.push(row)
      if (rows.length === 3) break
    }
    assert.deepEqual(rows, [user(0), user(1), user(2)])
    // What is left can still be read (or is discarded on close); the next call is answered.
    assert.equal(await conn.scalar('SELECT count(*) FROM users'), 5)
    result.close()
    assert.equal(await conn.scalar('SELECT 1'), 1)
    await conn.close()
  })

  test(`scalar returns the first column of the first row and closes${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT name, id FROM users ORDER BY id')
    assert.equal(await result.scalar(), USERS[0])
    assert.equal(result.closed, true)
    await assert.rejects(result.fetchone(), ClosedError)
    const empty = await engine.execute('SELECT name FROM users WHERE id > 100')
    assert.equal(await empty.scalar(), null)
    // Engine and connection scalar on an empty result, and on a NULL value.
    assert.equal(await engine.scalar('SELECT name FROM users WHERE id > 100'), null)
    assert.equal(await engine.scalar('SELECT NULL'), null)
  })

  test(`first returns the first row (or null) and closes${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT id, name FROM users ORDER BY id DESC')
    assert.deepEqual(await result.first(), user(4))
    assert.equal(result.closed, true)
    await assert.rejects(result.fetchall(), ClosedError)
    const empty = await engine.execute('SELECT id FROM users WHERE id < 0')
    assert.equal(await empty.first(), null)
    assert.equal(empty.closed, true)
  })

  test(`scalars returns the first column of the remaining rows${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT name, id FROM users ORDER BY id')
    assert.deepEqual(await result.fetchone(), { name: USERS[0], id: 1 })
    assert.deepEqual(await result.scalars(), USERS.slice(1))
    const arrays = await engine.execute('SELECT id, name FROM users ORDER BY id', [], { rowMode: 'array' })
    assert.deepEqual(await arrays.scalars(), [1, 2, 3, 4, 5])
  })

  test(`one returns exactly one row, or rejects with a ResultError${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const single = await engine.execute('SELECT id, name FROM users WHERE id = ?', [3])
    assert.deepEqual(await single.one(), user(2))
    assert.equal(single.closed, true)
    const none = await engine.execute('SELECT id FROM users WHERE id = 0')
    await assert.rejects(none.one(), (error: unknown) => {
      assert.ok(error instanceof ResultError)
      assert.equal(error.code, 'ERR_SQLAIO_NO_RESULT')
      return true
    })
    const several = await engine.execute('SELECT id FROM users')
    await assert.rejects(several.one(), (error: unknown) => {
      assert.ok(error instanceof ResultError)
      assert.equal(error.code, 'ERR_SQLAIO_MULTIPLE_RESULTS')
      return true
    })
    assert.equal(several.closed, true)
  })

  test(`rowMode 'array' gives arrays in column order${label}`, async () => {
    const engine = await usersEngine({ batchRows, rowMode: 'array' })
    const result = await engine.execute('SELECT name, id FROM users ORDER BY id LIMIT 2')
    assert.deepEqual(await result.fetchall(), [
      [USERS[0], 1],
      [USERS[1], 2],
    ])
    // Per call override back to objects.
    const objects = await engine.execute('SELECT id FROM users ORDER BY id LIMIT 1', [], {
      rowMode: 'object',
    })
    assert.deepEqual(await objects.fetchall(), [{ id: 1 }])
  })

  test(`batches() yields Arrow record batches of at most batchRows rows${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT id, name FROM users ORDER BY id')
    const batches: RecordBatch[] = []
    for await (const batch of result.batches()) batches.push(batch)
    assert.ok(batches.every((b) => b instanceof RecordBatch))
    assert.equal(
      batches.reduce((n, b) => n + b.numRows, 0),
      USERS.length,
    )
    if (batchRows) {
      assert.deepEqual(
        batches.map((b) => b.numRows),
        [2, 2, 1],
      )
    }
    const names = batches.flatMap((b) => [...b.getChild('name')!])
    assert.deepEqual(names, USERS)
    const ids = batches.flatMap((b) => [...b.getChild('id')!].map(Number))
    assert.deepEqual(ids, [1, 2, 3, 4, 5])
  })

  test(`batches() after a partial read starts at the next unread row${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT id, name FROM users ORDER BY id')
    await result.fetchone()
    const names: unknown[] = []
    for await (const batch of result.batches()) names.push(...batch.getChild('name')!)
    assert.deepEqual(names, USERS.slice(1))
  })

  test(`toArrow() gives a Table of the remaining rows${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT id, name FROM users ORDER BY id')
    assert.deepEqual(await result.fetchone(), user(0))
    const table = await result.toArrow()
    assert.ok(table instanceof Table)
    assert.equal(table.numRows, 4)
    assert.deepEqual(
      table.schema.fields.map((f) => f.name),
      ['id', 'name'],
    )
    assert.deepEqual([...table.getChild('name')!], USERS.slice(1))
    assert.equal(Number(table.get(0)!.id), 2)
  })

  test(`column() gives one column's remaining values as a Vector${label}`, async () => {
    const engine = await usersEngine({ batchRows })
    const result = await engine.execute('SELECT id, name FROM users ORDER BY id')
    const names = await result.column('name')
    assert.ok(names instanceof Vector)
    assert.equal(names.length, 5)
    assert.deepEqual([...names], USERS)
    const other = await engine.execute('SELECT id, name FROM users')
    await assert.rejects(other.column('nope'), RangeError)
  })
}

test('keys() lists the column names in order, duplicates and expressions included', async () => {
  const engine = await usersEngine()
  const result = await engine.execute('SELECT name, id, id + 1, 1 AS "one two" FROM users')
  assert.deepEqual(result.keys(), ['name', 'id', 'id + 1', 'one two'])
  const empty = await engine.execute('SELECT id, name FROM users WHERE 0')
  assert.deepEqual(empty.keys(), ['id', 'name'])
  assert.deepEqual(await empty.fetchall(), [])
  const dml = await engine.execute('DELETE FROM users WHERE 0')
  assert.deepEqual(dml.keys(), [])
})

test('duplicate column names: later columns win in objects, arrays keep all', async () => {
  const engine = tempEngine()
  const objects = await engine.execute('SELECT 1 AS a, 2 AS a')
  assert.deepEqual(objects.keys(), ['a', 'a'])
  assert.deepEqual(await objects.fetchall(), [{ a: 2 }])
  const arrays = await engine.execute('SELECT 1 AS a, 2 AS a', [], { rowMode: 'array' })
  assert.deepEqual(await arrays.fetchall(), [[1, 2]])
})

test('returnsRows, rowcount and lastInsertRowid', async () => {
  const engine = await usersEngine()
  const select = await engine.execute('SELECT * FROM users')
  assert.equal(select.returnsRows, true)
  assert.equal(select.rowcount, -1)
  select.close()

  const insert = await engine.execute('INSERT INTO users (name) VALUES (?)', ['Isaac Jaffe'])
  assert.equal(insert.returnsRows, false)
  assert.equal(insert.rowcount, 1)
  assert.equal(insert.lastInsertRowid, 6)

  const update = await engine.execute("UPDATE users SET name = name || '!' WHERE id <= 3")
  assert.equal(update.returnsRows, false)
  assert.equal(update.rowcount, 3)

  const del = await engine.execute('DELETE FROM users WHERE id > 4')
  assert.equal(del.rowcount, 2)

  const none = await engine.execute('UPDATE users SET name = name WHERE id = 99')
  assert.equal(none.rowcount, 0)

  const ddl = await engine.execute('CREATE TABLE other (x)')
  assert.equal(ddl.returnsRows, false)
  assert.equal(ddl.rowcount, 0)
})

test('lastInsertRowid follows intMode: a bigint in bigint mode', async () => {
  const engine = tempEngine({ intMode: 'bigint' })
  await engine.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)')
  const big = await engine.execute('INSERT INTO t VALUES (?, 1)', [2n ** 62n])
  assert.equal(big.lastInsertRowid, 2n ** 62n)
  assert.equal(await engine.scalar('SELECT id FROM t'), 2n ** 62n)
})

test('DML with RETURNING returns rows', async () => {
  const engine = await usersEngine()
  const result = await engine.execute('INSERT INTO users (name) VALUES (?), (?) RETURNING id, name', [
    'Isaac Jaffe',
    'Sally Sasser',
  ])
  assert.equal(result.returnsRows, true)
  assert.deepEqual(result.keys(), ['id', 'name'])
  assert.deepEqual(await result.fetchall(), [
    { id: 6, name: 'Isaac Jaffe' },
    { id: 7, name: 'Sally Sasser' },
  ])
  assert.equal(await engine.scalar('SELECT count(*) FROM users'), 7)
})

test('fetching from a statement that returns no rows rejects with a ResultError', async () => {
  const engine = await usersEngine()
  const conn = await engine.connect()
  const result = await conn.execute('UPDATE users SET name = name')
  assert.equal(result.returnsRows, false)
  const noRows = (error: unknown): boolean => {
    assert.ok(error instanceof ResultError, String(error))
    assert.equal(error.code, 'ERR_SQLAIO_NO_ROWS_RETURNED')
    return true
  }
  await assert.rejects(result.fetchone(), noRows)
  await assert.rejects(result.fetchmany(2), noRows)
  await assert.rejects(result.fetchall(), noRows)
  await assert.rejects(result.scalars(), noRows)
  await assert.rejects(result.toArrow(), noRows)
  await assert.rejects(async () => {
    for await (const _ of result) assert.fail('no rows expected')
  }, noRows)
  await assert.rejects(async () => {
    for await (const _ of result.batches()) assert.fail('no batches expected')
  }, noRows)
  // first() and one() close the result, so each gets a fresh one.
  await assert.rejects((await conn.execute('DELETE FROM users WHERE 0')).first(), noRows)
  await assert.rejects((await conn.execute('DELETE FROM users WHERE 0')).one(), noRows)
  // The connection answers the next query.
  assert.equal(await conn.scalar('SELECT count(*) FROM users'), 5)
  await conn.close()
})

test('every read after close() rejects with ClosedError', async () => {
  const engine = await usersEngine({ batchRows: 2 })
  const result = await engine.execute('SELECT id FROM users')
  assert.equal(result.closed, false)
  result.close()
  assert.equal(result.closed, true)
  result.close() // closing twice is harmless
  await assert.rejects(result.fetchone(), ClosedError)
  await assert.rejects(result.fetchmany(2), ClosedError)
  await assert.rejects(result.fetchall(), ClosedError)
  await assert.rejects(result.scalar(), ClosedError)
  await assert.rejects(result.toArrow(), ClosedError)
  await assert.rejects(result.column('id'), ClosedError)
  await assert.rejects(async () => {
    for await (const _ of result) assert.fail('no rows expected')
  }, ClosedError)
  // The engine answers the next query.
  assert.equal(await engine.scalar('SELECT count(*) FROM users'), 5)
})

test('asyncDispose on a result closes it', async () => {
  const engine = await usersEngine()
  const result = await engine.execute('SELECT id FROM users')
  await result[Symbol.asyncDispose]()
  assert.equal(result.closed, true)
})

test('fetchmany rejects a negative or fractional size with a RangeError', async () => {
  const engine = await usersEngine()
  const result = await engine.execute('SELECT id FROM users ORDER BY id')
  await assert.rejects(result.fetchmany(-1), RangeError)
  await assert.rejects(result.fetchmany(1.5), RangeError)
  assert.deepEqual(await result.fetchmany(1), [{ id: 1 }])
})

test('schema describes the columns', async () => {
  const engine = await usersEngine()
  const result = await engine.execute('SELECT id, name FROM users')
  assert.deepEqual(
    result.schema.fields.map((f) => f.name),
    ['id', 'name'],
  )
  result.close()
})

test('per-call batchRows and intMode override the engine defaults', async () => {
  const engine = tempEngine({ batchRows: 1000 })
  const result = await engine.execute(countSql(10), [], { batchRows: 3, intMode: 'bigint' })
  const sizes: number[] = []
  const values: unknown[] = []
  for await (const batch of result.batches()) {
    sizes.push(batch.numRows)
    values.push(...batch.getChild('x')!)
  }
  assert.deepEqual(sizes, [3, 3, 3, 1])
  assert.deepEqual(values, [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n])
  const big = await engine.execute('SELECT 9007199254740993 AS x', [], { intMode: 'bigint' })
  assert.deepEqual(await big.fetchall(), [{ x: 9007199254740993n }])
})

test('a held RecordBatch stays valid and unchanged after more reads and close', async () => {
  const engine = tempEngine({ batchRows: 4 })
  const conn = await engine.connect()
  const result = await conn.execute(`SELECT x, 'row ' || x AS label FROM (${countSql(40)})`)
  const iterator = result.batches()[Symbol.asyncIterator]()
  const first = (await iterator.next()).value as RecordBatch
  const snapshot = JSON.stringify([...first.getChild('label')!])
  assert.equal(snapshot, JSON.stringify(['row 1', 'row 2', 'row 3', 'row 4']))
  // Read more batches, close, run other queries on the same worker.
  await iterator.next()
  await iterator.next()
  result.close()
  for (let i = 0; i < 5; i++) await (await conn.execute(countSql(100))).fetchall()
  assert.equal(JSON.stringify([...first.getChild('label')!]), snapshot)
  assert.deepEqual([...first.getChild('x')!].map(Number), [1, 2, 3, 4])
  await conn.close()
})

test('rows of a result are independent of the shared memory (blobs are copies)', async () => {
  const engine = tempEngine()
  const result = await engine.execute("SELECT x'010203' AS b, x'010203' AS c")
  const row = (await result.fetchone()) as { b: Buffer; c: Buffer }
  assert.ok(Buffer.isBuffer(row.b))
  row.b[0] = 99
  assert.deepEqual([...row.c], [1, 2, 3])
})

test('column names such as __proto__ and constructor make the row better-sqlite3 makes', async () => {
  const engine = tempEngine()
  const sql = "SELECT 1 AS __proto__, 'c' AS constructor, x'00' AS toString, 2 AS hasOwnProperty"
  const row = (await (await engine.execute(sql)).fetchone()) as Record<string, unknown>
  const oracle = new Database(':memory:')
  // better-sqlite3 assigns each value, so __proto__ = 1 changes nothing and leaves no own property.
  assert.deepStrictEqual(row, oracle.prepare(sql).get())
  oracle.close()
  assert.equal(Object.getPrototypeOf(row), Object.prototype)
  assert.deepEqual(Object.keys(row), ['constructor', 'toString', 'hasOwnProperty'])
  assert.equal(row.constructor, 'c')
  assert.deepEqual(row.toString, Buffer.from([0]))
})

test('a held Table and Vector stay valid and unchanged while the worker goes on', async () => {
  const engine = tempEngine({ batchRows: 16 })
  const conn = await engine.connect()
  const sql = `SELECT x, 'text ' || x AS t, CAST(x AS BLOB) AS b FROM (${countSql(100)})`
  const table = await (await conn.execute(sql)).toArrow()
  const vector = await (await conn.execute(sql)).column('t')
  const snapshot = (): string =>
    JSON.stringify({
      x: [...table.getChild('x')!].map(String),
      t: [...table.getChild('t')!],
      b: [...table.getChild('b')!].map((v) => Buffer.from(v as Uint8Array).toString('hex')),
      v: [...vector],
    })
  const before = snapshot()
  assert.equal(table.numRows, 100)
  assert.equal(vector.length, 100)
  // Lots of other batches through the same worker, of the same shape and sizes.
  for (let i = 0; i < 20; i++) {
    const rows = await (
      await conn.execute(`SELECT -x, 'other ' || x, randomblob(8) FROM (${countSql(100)})`)
    ).fetchall()
    assert.equal(rows.length, 100)
  }
  assert.equal(snapshot(), before)
  assert.equal(vector.get(41), 'text 42')
  await conn.close()
  assert.equal(snapshot(), before)
})

test('rowcount and lastInsertRowid equal better-sqlite3 run() info, statement by statement', async () => {
  const oracle = new Database(':memory:')
  const engine = tempEngine()
  const conn = await engine.connect()
  const script: [string, unknown[]][] = [
    ['CREATE TABLE t (id INTEGER PRIMARY KEY, x UNIQUE)', []],
    ['CREATE TABLE audit (n)', []],
    ['CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (new.x); END', []],
    ['INSERT INTO t (x) VALUES (?), (?), (?)', [1, 2, 3]],
    ['UPDATE t SET x = x + 10', []],
    ['CREATE TABLE u (y)', []],
    ['INSERT INTO t (x) VALUES (11) ON CONFLICT DO NOTHING', []],
    ['INSERT OR REPLACE INTO t (id, x) VALUES (1, 99)', []],
    ['DELETE FROM t WHERE id > 2', []],
    ['BEGIN', []],
    ['INSERT INTO u SELECT value FROM json_each(?)', ['[1,2,3,4]']],
    ['COMMIT', []],
    ['DROP TABLE u', []],
    ['PRAGMA user_version = 3', []],
    ['DELETE FROM t', []],
  ]
  for (const [sql, params] of script) {
    const info = oracle.prepare(sql).run(...params)
    const result = await conn.execute(sql, params)
    assert.equal(result.returnsRows, false, sql)
    assert.equal(result.rowcount, info.changes, `rowcount of ${sql}`)
    assert.equal(result.lastInsertRowid, Number(info.lastInsertRowid), `lastInsertRowid of ${sql}`)
  }
  oracle.close()
  await conn.close()
})
