/**
 * Bad input: each mistake is a clear error of the right class, and the same connection answers
 * the next call with its own answer (no hang, no crash, no desynchronisation — sqlalchemy_aio
 * bug #20).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import {
  ClosedError,
  type Connection,
  DatabaseError,
  type Engine,
  ResultError,
  SqlaioError,
} from '../src/index.js'
import { countSql, tempEngine } from './helpers.js'

let token = 0

/** The connection (or engine) still answers a fresh query with exactly its own answer. */
async function assertHealthy(db: Connection | Engine): Promise<void> {
  const value = `answer ${++token}`
  assert.equal(await db.scalar('SELECT ?', [value]), value)
  const rows = await (await db.execute(countSql(3))).fetchall()
  assert.deepEqual(rows, [{ x: 1 }, { x: 2 }, { x: 3 }])
}

async function fixture(): Promise<{ engine: Engine; conn: Connection }> {
  const engine = tempEngine()
  await engine.exec(`
    PRAGMA foreign_keys = ON;
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, age INTEGER CHECK (age >= 0));
    CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id));
    INSERT INTO users (id, name, age) VALUES (1, 'Dan Rydell', 30);
  `)
  const conn = await engine.connect()
  await conn.exec('PRAGMA foreign_keys = ON')
  return { engine, conn }
}

const isDatabaseError =
  (code: string, sql?: string) =>
  (error: unknown): boolean => {
    assert.ok(error instanceof DatabaseError, `expected a DatabaseError, got ${String(error)}`)
    assert.ok(error instanceof SqlaioError)
    assert.equal(error.code, code)
    if (sql !== undefined) assert.equal(error.sql, sql)
    assert.ok(error.message.length > 0)
    return true
  }

test('invalid SQL rejects with a DatabaseError carrying the sql; the connection goes on', async () => {
  const { engine, conn } = await fixture()
  for (const db of [conn, engine]) {
    await assert.rejects(db.execute('SELEC 1'), isDatabaseError('SQLITE_ERROR', 'SELEC 1'))
    await assertHealthy(db)
    await assert.rejects(db.execute('SELECT * FROM nowhere'), (error: unknown) => {
      isDatabaseError('SQLITE_ERROR', 'SELECT * FROM nowhere')(error)
      assert.match((error as Error).message, /nowhere/)
      return true
    })
    await assertHealthy(db)
    await assert.rejects(db.scalar('SELECT nope FROM users'), DatabaseError)
    await assertHealthy(db)
    await assert.rejects(db.exec('CREATE TABLE'), DatabaseError)
    await assertHealthy(db)
  }
  await conn.close()
})

test('an error carries the caller stack frames, not only the worker ones', async () => {
  const { conn } = await fixture()
  async function callerFunctionWithADistinctName(): Promise<unknown> {
    return conn.execute('SELEC 1')
  }
  await assert.rejects(callerFunctionWithADistinctName(), (error: unknown) => {
    assert.ok(error instanceof DatabaseError)
    assert.match(error.stack ?? '', /bad-input\.test/)
    return true
  })
  await assertHealthy(conn)
  await conn.close()
})

test('several statements or none in execute() reject; exec() takes scripts', async () => {
  const { conn } = await fixture()
  await assert.rejects(conn.execute('SELECT 1; SELECT 2'), (error: unknown) => {
    assert.ok(error instanceof RangeError || error instanceof DatabaseError, String(error))
    return true
  })
  await assertHealthy(conn)
  await assert.rejects(conn.execute(''), (error: unknown) => {
    assert.ok(error instanceof RangeError || error instanceof DatabaseError, String(error))
    return true
  })
  await assertHealthy(conn)
  await conn.exec('SELECT 1; SELECT 2')
  await assertHealthy(conn)
  await conn.close()
})

test('a script failing half way: the error, and the statements before it applied', async () => {
  const { conn } = await fixture()
  await assert.rejects(
    conn.exec("INSERT INTO users (name) VALUES ('Casey McCall'); INSERT INTO nowhere VALUES (1)"),
    DatabaseError,
  )
  assert.equal(await conn.scalar("SELECT count(*) FROM users WHERE name = 'Casey McCall'"), 1)
  await assertHealthy(conn)
  await conn.close()
})

test('wrong parameter counts reject with a RangeError', async () => {
  const { conn } = await fixture()
  await assert.rejects(conn.execute('SELECT ?, ?', [1]), RangeError)
  await assertHealthy(conn)
  await assert.rejects(conn.execute('SELECT ?', [1, 2]), RangeError)
  await assertHealthy(conn)
  await assert.rejects(conn.execute('SELECT 1', [1]), RangeError)
  await assertHealthy(conn)
  await assert.rejects(conn.execute('SELECT ?'), RangeError)
  await assertHealthy(conn)
  await conn.close()
})

test('missing named parameters reject with a RangeError naming the parameter', async () => {
  const { conn } = await fixture()
  await assert.rejects(conn.execute('SELECT :a, :missing_one', { a: 1 }), (error: unknown) => {
    assert.ok(error instanceof RangeError, String(error))
    assert.match(error.message, /missing_one/)
    return true
  })
  await assertHealthy(conn)
  // A positional array for a statement with named parameters, and the reverse.
  await assert.rejects(conn.execute('SELECT :a', [1]), (error: unknown) => error instanceof Error)
  await assertHealthy(conn)
  await assert.rejects(conn.execute('SELECT ?', { a: 1 }), (error: unknown) => error instanceof Error)
  await assertHealthy(conn)
  // An empty object is named parameters too, as in better-sqlite3: the missing one is named.
  await assert.rejects(conn.execute('SELECT :a', {}), /RangeError: Missing named parameter "a"/)
  await conn.exec('CREATE TEMP TABLE named_sets (a)')
  for (const sets of [[{}], Array.from({ length: 40 }, () => ({}))]) {
    await assert.rejects(
      conn.executeMany('INSERT INTO named_sets VALUES (:a)', sets),
      /RangeError: Missing named parameter "a"/,
    )
  }
  assert.equal(await conn.scalar('SELECT 1', {}), 1)
  await assertHealthy(conn)
  await conn.close()
})

test('named parameters work with :x, @x and $x, keys with or without the prefix', async () => {
  const { conn } = await fixture()
  assert.deepEqual(
    await (await conn.execute('SELECT :a AS a, @b AS b, $c AS c', { a: 1, b: 'two', c: null })).fetchall(),
    [{ a: 1, b: 'two', c: null }],
  )
  assert.deepEqual(await (await conn.execute('SELECT :a AS a, @b AS b', { ':a': 1, '@b': 2 })).fetchall(), [
    { a: 1, b: 2 },
  ])
  await conn.close()
})

test('unsupported parameter types reject with a TypeError naming the parameter', async () => {
  const { conn } = await fixture()
  const bad: [string, unknown][] = [
    ['object', { a: 1 }],
    ['function', () => 1],
    ['symbol', Symbol('s')],
    ['Date', new Date(0)],
    ['Map', new Map()],
    ['array', [1, 2]],
    ['ArrayBuffer', new ArrayBuffer(4)],
  ]
  for (const [kind, value] of bad) {
    await assert.rejects(conn.execute('SELECT ?, ?', [1, value]), (error: unknown) => {
      assert.ok(error instanceof TypeError, `${kind}: ${String(error)}`)
      assert.match(error.message, /parameter 2/, `${kind}: ${error.message}`)
      return true
    })
    await assert.rejects(conn.execute('SELECT :ok, :weird', { ok: 1, weird: value }), (error: unknown) => {
      assert.ok(error instanceof TypeError, `${kind}: ${String(error)}`)
      assert.match(error.message, /weird/, `${kind}: ${error.message}`)
      return true
    })
    await assertHealthy(conn)
  }
  await assert.rejects(
    conn.executeMany('INSERT INTO users (name) VALUES (?)', [['ok'], [new Date()]]),
    (error: unknown) => {
      assert.ok(error instanceof TypeError)
      assert.match(error.message, /set 2/)
      assert.match(error.message, /parameter 1/)
      return true
    },
  )
  assert.equal(await conn.scalar("SELECT count(*) FROM users WHERE name = 'ok'"), 0)
  // A set missing a named parameter: nothing of the batch is applied.
  await assert.rejects(
    conn.executeMany('INSERT INTO users (name) VALUES (:name)', [{ name: 'ok' }, { other: 'x' }]),
    (error: unknown) => error instanceof RangeError && /name/.test(error.message),
  )
  assert.equal(await conn.scalar("SELECT count(*) FROM users WHERE name = 'ok'"), 0)
  await assertHealthy(conn)
  await conn.close()
})

test('supported parameter types bind as better-sqlite3 binds them (booleans as 1/0)', async () => {
  const { conn } = await fixture()
  const sql =
    'SELECT ? AS n, ? AS u, ? AS i, ? AS b, ? AS s, ? AS t, ? AS f, ? AS blob, ? AS u8, typeof(?) AS ti'
  const values = [
    null,
    undefined,
    42,
    2n ** 60n,
    'text',
    true,
    false,
    Buffer.from([1, 2]),
    new Uint8Array([3, 4]),
    7,
  ]
  const row = await (await conn.execute(sql, values, { intMode: 'bigint' })).one()
  const oracle = new Database(':memory:')
  const expected = oracle
    .prepare(sql)
    .safeIntegers(true)
    .get(...values.map((v) => (v === true ? 1 : v === false ? 0 : v)))
  oracle.close()
  assert.deepStrictEqual(row, expected)
  assert.deepStrictEqual(row, {
    n: null,
    u: null,
    // better-sqlite3 binds a JS number as a REAL, read back as a number even in bigint mode.
    i: 42,
    b: 2n ** 60n,
    s: 'text',
    t: 1,
    f: 0,
    blob: Buffer.from([1, 2]),
    u8: Buffer.from([3, 4]),
    ti: 'real',
  })
  await conn.close()
})

test('byte parameters bind exactly their view: subarrays, shared memory, empty', async () => {
  const { conn } = await fixture()
  const shared = new Uint8Array(new SharedArrayBuffer(8))
  shared.set([9, 8, 7, 6, 5, 4, 3, 2])
  const views: [Uint8Array, number[]][] = [
    [Buffer.from('hello world').subarray(1, 3), [101, 108]],
    [new Uint8Array([1, 2, 3, 4, 5]).subarray(2, 4), [3, 4]],
    [shared.subarray(1, 4), [8, 7, 6]],
    [new Uint8Array(0), []],
  ]
  for (const [view, bytes] of views) {
    const row = await (await conn.execute('SELECT ? AS b, typeof(?) AS t', [view, view])).one()
    assert.deepStrictEqual(row, { b: Buffer.from(bytes), t: 'blob' })
  }
  // Only Uint8Array (and Buffer) are bytes, as documented; other views are refused by name.
  for (const view of [new Int16Array([1, 2]), new DataView(new ArrayBuffer(2)), new Uint8ClampedArray(1)]) {
    await assert.rejects(conn.execute('SELECT ?', [view]), (error: unknown) => {
      assert.ok(error instanceof TypeError)
      assert.match(error.message, /parameter 1/)
      return true
    })
  }
  await assertHealthy(conn)
  await conn.close()
})

test('params that are neither an array nor an object reject with a TypeError', async () => {
  const { conn } = await fixture()
  for (const params of ['abc', 42, true, new Uint8Array(1)]) {
    await assert.rejects(conn.execute('SELECT ?', params as never), TypeError)
  }
  await assertHealthy(conn)
  await conn.close()
})

test('a statement that is not a string or compiled query rejects with a TypeError', async () => {
  const { engine, conn } = await fixture()
  for (const statement of [42, null, undefined, {}, { sql: 1, parameters: [] }, { sql: 'SELECT 1' }]) {
    await assert.rejects(conn.execute(statement as never), TypeError)
    await assert.rejects(engine.execute(statement as never), TypeError)
  }
  // A compiled query carries its parameters: passing params too is a mistake.
  await assert.rejects(conn.execute({ sql: 'SELECT ?', parameters: [1] }, [2]), TypeError)
  await assert.rejects(conn.exec(42 as never), TypeError)
  await assert.rejects(conn.executeMany(42 as never, []), TypeError)
  await assert.rejects(conn.executeMany('INSERT INTO users (name) VALUES (?)', 'x' as never), TypeError)
  await assertHealthy(conn)
  await assertHealthy(engine)
  await conn.close()
})

test('bad execute options reject with a TypeError or RangeError naming the option', async () => {
  const { conn } = await fixture()
  const cases: [Record<string, unknown>, typeof TypeError | typeof RangeError, RegExp][] = [
    [{ rowMode: 'table' }, TypeError, /rowMode/],
    [{ intMode: 'float' }, TypeError, /intMode/],
    [{ batchRows: 0 }, RangeError, /batchRows/],
    [{ batchRows: 1.5 }, TypeError, /batchRows/],
    [{ batchRows: '10' }, TypeError, /batchRows/],
  ]
  for (const [options, kind, name] of cases) {
    await assert.rejects(conn.execute('SELECT 1', [], options as never), (error: unknown) => {
      assert.ok(error instanceof kind, `${JSON.stringify(options)}: ${String(error)}`)
      assert.match((error as Error).message, name)
      return true
    })
  }
  await assertHealthy(conn)
  await conn.close()
})

test('constraint violations reject with DatabaseError and SQLite extended codes', async () => {
  const { conn } = await fixture()
  const cases: [string, unknown[], string][] = [
    ['INSERT INTO users (name) VALUES (?)', ['Dan Rydell'], 'SQLITE_CONSTRAINT_UNIQUE'],
    ['INSERT INTO users (id, name) VALUES (?, ?)', [1, 'Other'], 'SQLITE_CONSTRAINT_PRIMARYKEY'],
    ['INSERT INTO users (name) VALUES (?)', [null], 'SQLITE_CONSTRAINT_NOTNULL'],
    ['INSERT INTO users (name, age) VALUES (?, ?)', ['Young', -1], 'SQLITE_CONSTRAINT_CHECK'],
    ['INSERT INTO posts (user_id) VALUES (?)', [999], 'SQLITE_CONSTRAINT_FOREIGNKEY'],
  ]
  for (const [sql, params, code] of cases) {
    await assert.rejects(conn.execute(sql, params), isDatabaseError(code, sql))
    assert.equal(conn.inTransaction, false)
    await assertHealthy(conn)
  }
  assert.equal(await conn.scalar('SELECT count(*) FROM users'), 1)
  await conn.close()
})

test('a constraint violation inside a transaction leaves the transaction usable', async () => {
  const { conn, engine } = await fixture()
  const tx = await conn.begin()
  await conn.execute("INSERT INTO users (name) VALUES ('Natalie Hurley')")
  await assert.rejects(conn.execute("INSERT INTO users (name) VALUES ('Dan Rydell')"), DatabaseError)
  assert.equal(conn.inTransaction, true)
  await conn.execute("INSERT INTO users (name) VALUES ('Jeremy Goodwin')")
  await tx.commit()
  assert.equal(await engine.scalar('SELECT count(*) FROM users'), 3)
  await conn.close()
})

test('executeMany failing part way applies nothing and says why', async () => {
  const { conn } = await fixture()
  await assert.rejects(
    conn.executeMany('INSERT INTO users (name) VALUES (?)', [['A'], ['B'], ['Dan Rydell'], ['C']]),
    isDatabaseError('SQLITE_CONSTRAINT_UNIQUE'),
  )
  assert.equal(await conn.scalar('SELECT count(*) FROM users'), 1)
  await assert.rejects(conn.executeMany('INSERT INTO users (name) VALUES (?)', [['A'], [1, 2]]), RangeError)
  assert.equal(await conn.scalar('SELECT count(*) FROM users'), 1)
  await assertHealthy(conn)
  await conn.close()
})

test('an error while rows stream (after the first batch) reaches the reader', async () => {
  const { conn } = await fixture()
  // abs() of the smallest integer overflows: row 7 fails, after two batches of 3 were sent.
  const sql = `SELECT CASE WHEN x = 7 THEN abs(-9223372036854775807 - 1) ELSE x END AS v FROM (${countSql(20)})`
  const result = await conn.execute(sql, [], { batchRows: 3 })
  assert.deepEqual(await result.fetchmany(3), [{ v: 1 }, { v: 2 }, { v: 3 }])
  await assert.rejects(result.fetchall(), (error: unknown) => {
    assert.ok(error instanceof DatabaseError, String(error))
    assert.match(error.message, /overflow/)
    return true
  })
  await assertHealthy(conn)
  // The same through async iteration and toArrow.
  await assert.rejects(async () => {
    for await (const _ of await conn.execute(sql, [], { batchRows: 3 })) {
      // keep reading
    }
  }, DatabaseError)
  await assertHealthy(conn)
  await assert.rejects(async () => (await conn.execute(sql, [], { batchRows: 3 })).toArrow(), DatabaseError)
  await assertHealthy(conn)
  await conn.close()
})

test('an error in the first batch rejects execute or the first read', async () => {
  const { conn } = await fixture()
  const attempt = async (): Promise<unknown> => (await conn.execute("SELECT json('{bad')")).fetchall()
  await assert.rejects(attempt(), DatabaseError)
  await assertHealthy(conn)
  await conn.close()
})

test('fetch after close and from a statement with no rows', async () => {
  const { conn } = await fixture()
  const result = await conn.execute('SELECT * FROM users')
  result.close()
  await assert.rejects(result.fetchone(), ClosedError)
  await assertHealthy(conn)
  const dml = await conn.execute("UPDATE users SET age = 31 WHERE name = 'Dan Rydell'")
  await assert.rejects(dml.fetchall(), ResultError)
  await assertHealthy(conn)
  await conn.close()
  await assert.rejects(conn.execute('SELECT 1'), ClosedError)
})

test('executeMany with a statement that returns rows rejects', async () => {
  const { conn } = await fixture()
  await assert.rejects(conn.executeMany('SELECT ?', [[1], [2]]), TypeError)
  await assertHealthy(conn)
  await conn.close()
})

test('runInWorker with a missing module or export rejects', async () => {
  const { conn } = await fixture()
  await assert.rejects(conn.runInWorker('/nonexistent/module.mjs', 'f'), Error)
  await assertHealthy(conn)
  await assert.rejects(conn.runInWorker('node:path', 'no_such_export'), TypeError)
  await assertHealthy(conn)
  await assert.rejects(conn.runInWorker('', 'f'), TypeError)
  await assert.rejects(conn.runInWorker('node:path', 42 as never), TypeError)
  await assertHealthy(conn)
  await conn.close()
})

test('a burst of bad calls interleaved with good ones: every good call gets its own answer', async () => {
  const { conn } = await fixture()
  const calls: Promise<unknown>[] = []
  const expected: unknown[] = []
  for (let i = 0; i < 60; i++) {
    switch (i % 4) {
      case 0:
        calls.push(conn.scalar('SELECT ?', [i]))
        expected.push(i)
        break
      case 1:
        calls.push(conn.execute('SELEC oops').catch((e: unknown) => (e as Error).constructor.name))
        expected.push('DatabaseError')
        break
      case 2:
        calls.push(
          conn.execute('SELECT ?', [new Date()]).catch((e: unknown) => (e as Error).constructor.name),
        )
        expected.push('TypeError')
        break
      default:
        calls.push(
          conn
            .execute("INSERT INTO users (name) VALUES ('Dan Rydell')")
            .catch((e: unknown) => (e as DatabaseError).code),
        )
        expected.push('SQLITE_CONSTRAINT_UNIQUE')
    }
  }
  assert.deepEqual(await Promise.all(calls), expected)
  await assertHealthy(conn)
  await conn.close()
})

test('params that are neither an array nor an object reject with a TypeError naming what they are', async () => {
  const { conn } = await fixture()
  await assert.rejects(conn.execute('SELECT ?', 5 as never), /TypeError: .*got number/)
  await assert.rejects(conn.execute('SELECT ?', Buffer.from('x') as never), /TypeError: .*got Buffer/)
  // A Date or a Map is not a set of named values (better-sqlite3 takes plain objects only).
  await assert.rejects(conn.execute('SELECT ?', new Date() as never), /TypeError: .*got Date/)
  await assert.rejects(conn.execute('SELECT :a', new Map([['a', 1]]) as never), /TypeError: .*got Map/)
  assert.equal(await conn.scalar('SELECT :a', Object.assign(Object.create(null), { a: 7 })), 7)
  await assertHealthy(conn)
  await conn.close()
})
