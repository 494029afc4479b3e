/**
 * Regressions found while writing the suite: stale column lists after a schema change, a
 * Transaction outliving its connection, and lastInsertRowid beyond 2^53 in number mode.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { AbortError, ClosedError, createEngine } from '../src/index.js'
import { countSql, SLOW_SCALAR_SQL, tempDbPath, tempEngine, writeModule } from './helpers.js'

for (const native of ['off', 'auto'] as const) {
  test(`SELECT * after a schema change returns the new columns, as better-sqlite3 does (native ${native})`, async () => {
    const path = tempDbPath()
    const engine = createEngine(`sqlite:///${path}`, { native })
    const oracle = new Database(path)
    const fresh = (sql: string): unknown[] => oracle.prepare(sql).all()
    try {
      const conn = await engine.connect()
      await engine.exec('CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1)')
      // Both workers cache the statement.
      assert.deepEqual(await (await engine.execute('SELECT * FROM t')).fetchall(), [{ a: 1 }])
      assert.deepEqual(await (await conn.execute('SELECT * FROM t')).fetchall(), [{ a: 1 }])

      await engine.exec("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'; INSERT INTO t VALUES (2, 'y')")
      assert.deepEqual(await (await engine.execute('SELECT * FROM t')).fetchall(), fresh('SELECT * FROM t'))
      assert.deepEqual(await (await conn.execute('SELECT * FROM t')).fetchall(), fresh('SELECT * FROM t'))

      await engine.exec("DROP TABLE t; CREATE TABLE t (z BLOB, y TEXT); INSERT INTO t VALUES (x'01', 'q')")
      const result = await engine.execute('SELECT * FROM t')
      assert.deepEqual(result.keys(), ['z', 'y'])
      assert.deepEqual(await result.fetchall(), fresh('SELECT * FROM t'))
      await conn.close()
    } finally {
      await engine.dispose()
      oracle.close()
    }
  })
}

const alterRaw = writeModule(`
  export function addColumn(db) { db.exec("ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'raw'") }
`)

for (const native of ['off', 'auto'] as const) {
  test(`outside a transaction, a schema change by the same connection refreshes cached columns (native ${native})`, async () => {
    const engine = createEngine(`sqlite:///${tempDbPath()}`, { native })
    try {
      const conn = await engine.connect()
      await conn.execute('CREATE TABLE t (a INTEGER)')
      await conn.execute('INSERT INTO t VALUES (1)')
      assert.deepEqual(await (await conn.execute('SELECT * FROM t')).fetchall(), [{ a: 1 }])
      await conn.execute("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'")
      assert.deepEqual(await (await conn.execute('SELECT * FROM t')).fetchall(), [{ a: 1, b: 'x' }])
      // DDL on the raw connection, which the driver cannot read.
      await conn.runInWorker(alterRaw, 'addColumn')
      assert.deepEqual(await (await conn.execute('SELECT * FROM t')).fetchall(), [{ a: 1, b: 'x', c: 'raw' }])
      await conn.close()
    } finally {
      await engine.dispose()
    }
  })
}

test("lastInsertRowid in intMode 'number' is never a silently rounded number", async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)')
  // 2^62 + 1 is not a double: today lastInsertRowid is 4611686018427388000 (rounded).
  const outcome = await engine.execute('INSERT INTO t VALUES (?, 1)', [2n ** 62n + 1n]).then(
    (r) => r.lastInsertRowid,
    (error: unknown) => error,
  )
  assert.ok(
    outcome === 2n ** 62n + 1n || outcome instanceof RangeError,
    `lastInsertRowid was ${String(outcome)} (${typeof outcome})`,
  )
})

test("a Transaction of a closed connection cannot end another connection's transaction", async () => {
  const engine = tempEngine({ memory: true, poolSize: 1 })
  await engine.exec('CREATE TABLE t (x)')
  const first = await engine.connect()
  const stale = await first.begin()
  await first.close() // rolled back; the worker goes back to the pool
  const second = await engine.connect() // the same worker, from the pool
  const own = await second.begin()
  await second.execute('INSERT INTO t VALUES (1)')
  // The pooled worker now serves the second connection: the first transaction must not reach it.
  await assert.rejects(stale.commit(), ClosedError)
  assert.equal(second.inTransaction, true)
  await own.rollback()
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
  await second.close()
})

test('a cancel that arrives while transaction(fn) rolls back does not cancel the rollback', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  const controller = new AbortController()
  const failing = conn.transaction(
    async (c) => {
      await c.execute('INSERT INTO t VALUES (1)')
      // A slow read left running: the ROLLBACK queues behind it, and the abort lands meanwhile.
      c.scalar(SLOW_SCALAR_SQL).catch(() => {})
      throw new Error('fn fails')
    },
    { signal: controller.signal },
  )
  setTimeout(() => controller.abort('late'), 20)
  await assert.rejects(failing)
  assert.equal(conn.inTransaction, false)
  await conn.execute('INSERT INTO t VALUES (2)')
  await conn.close()
  assert.deepEqual(await (await engine.execute('SELECT x FROM t')).scalars(), [2])
})

test('an abandoned transaction(fn) cannot open a savepoint behind the caller', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x)')
  const conn = await engine.connect()
  const controller = new AbortController()
  let late: Promise<unknown> = Promise.resolve()
  // Settles once the abandoned callback has made its late call, however slow the machine.
  let madeLateCall: () => void = () => {}
  const lateCallMade = new Promise<void>((resolve) => (madeLateCall = resolve))
  const abandoned = conn.transaction(
    async (c) => {
      await c.execute('INSERT INTO t VALUES (1)')
      await new Promise((resolve) => setTimeout(resolve, 50))
      late = c.beginNested()
      madeLateCall()
      await late
    },
    { signal: controller.signal },
  )
  setTimeout(() => controller.abort('stop'), 10)
  await assert.rejects(abandoned, AbortError)
  await assert.rejects(
    lateCallMade.then(() => late),
    AbortError,
  )
  assert.equal(conn.inTransaction, false)
  await conn.execute('INSERT INTO t VALUES (2)')
  await conn.close()
  assert.deepEqual(await (await engine.execute('SELECT x FROM t')).scalars(), [2])
})

test('a read with an already-aborted signal rejects and closes the result', async () => {
  const engine = tempEngine()
  const result = await engine.execute(countSql(100_000))
  await assert.rejects(result.fetchone({ signal: AbortSignal.abort('no') }), AbortError)
  assert.equal(result.closed, true)
  await assert.rejects(result.fetchone(), AbortError)
})

test('inside a transaction, a schema change by the same connection refreshes cached columns', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1)')
  const conn = await engine.connect()
  await conn.transaction(async (c) => {
    assert.deepEqual(await (await c.execute('SELECT * FROM t')).fetchall(), [{ a: 1 }])
    await c.execute("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'")
    assert.deepEqual(await (await c.execute('SELECT * FROM t')).fetchall(), [{ a: 1, b: 'x' }])
  })
  await conn.close()
})

for (const native of ['off', 'auto'] as const) {
  test(`inside a transaction, a schema another connection committed is what a read sees (native ${native})`, async () => {
    const path = tempDbPath()
    const engine = createEngine(`sqlite:///${path}`, { native })
    const oracle = new Database(path)
    try {
      const [writer, reader] = [await engine.connect(), await engine.connect()]
      await writer.exec('CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 2)')
      // The reader caches the statement and its column list.
      assert.deepEqual(await (await reader.execute('SELECT * FROM t')).fetchall(), [{ a: 1, b: 2 }])
      // A deferred BEGIN takes its snapshot at its first read, after the other connection's DDL.
      await reader.execute('BEGIN')
      await writer.exec(
        "DROP TABLE t; CREATE TABLE t (x TEXT, y TEXT, z TEXT); INSERT INTO t VALUES ('p', 'q', 'r')",
      )
      const result = await reader.execute('SELECT * FROM t')
      assert.deepEqual(result.keys(), ['x', 'y', 'z'])
      assert.deepEqual(await result.fetchall(), oracle.prepare('SELECT * FROM t').all())
      await reader.execute('COMMIT')

      await reader.execute('BEGIN')
      await writer.exec('ALTER TABLE t ADD COLUMN w')
      assert.deepEqual(
        await (await reader.execute('SELECT * FROM t')).fetchall(),
        oracle.prepare('SELECT * FROM t').all(),
      )
      await reader.execute('COMMIT')
    } finally {
      await engine.dispose()
      oracle.close()
    }
  })
}

test('scalar() and scalars() take the first column by position, as pluck() does, even when a later one shares its name', async () => {
  const engine = tempEngine()
  const oracle = new Database(':memory:')
  for (const [sql, params] of [
    ['SELECT 1 AS a, 2 AS a', []],
    ['SELECT ?, ?, ?', [1, 'two', 3.5]],
    ['SELECT x AS v, x * 10 AS v FROM (SELECT 1 AS x UNION ALL SELECT 2)', []],
  ] as const) {
    const statement = oracle.prepare(sql).pluck()
    assert.equal(await (await engine.execute(sql, [...params])).scalar(), statement.get(...params), sql)
    assert.deepEqual(await (await engine.execute(sql, [...params])).scalars(), statement.all(...params), sql)
  }
  oracle.close()
})

test("in intMode 'number', an integer beyond 2^53 fails the read that reaches its row, not the rows before it", async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE big (id INTEGER, v INTEGER, w INTEGER)')
  await engine.executeMany('INSERT INTO big VALUES (?, ?, 1)', [
    [1, 1],
    [2, 2],
    [3, 2n ** 53n],
  ])
  const result = await engine.execute('SELECT * FROM big ORDER BY id')
  assert.deepEqual(await result.fetchone(), { id: 1, v: 1, w: 1 })
  assert.deepEqual(await result.fetchmany(1), [{ id: 2, v: 2, w: 1 }])
  await assert.rejects(
    result.fetchone(),
    (error: Error) => error instanceof RangeError && /"v"/.test(error.message),
  )
  await assert.rejects((await engine.execute('SELECT * FROM big')).fetchall(), RangeError)
  // scalar() reads the first column of the first row only, as better-sqlite3's pluck().get().
  assert.equal(await (await engine.execute('SELECT id, v FROM big ORDER BY id DESC')).scalar(), 3)
  await assert.rejects((await engine.execute('SELECT v FROM big ORDER BY id DESC')).scalar(), RangeError)
})

test('a column named __proto__ sets the row as better-sqlite3 sets it: no own property, an object value becomes the prototype', async () => {
  const engine = tempEngine()
  const oracle = new Database(':memory:')
  for (const sql of [
    'SELECT 1 AS "__proto__", 2 AS b',
    `SELECT x'0102' AS "__proto__", 2 AS b`,
    `SELECT x'01' AS "__proto__", 2 AS b, 3 AS "__proto__"`,
  ]) {
    const [ours] = await (await engine.execute(sql)).fetchall()
    const [theirs] = oracle.prepare(sql).all() as object[]
    assert.deepEqual(Object.keys(ours as object), Object.keys(theirs as object), sql)
    assert.deepEqual(Object.getPrototypeOf(ours), Object.getPrototypeOf(theirs), sql)
  }
  oracle.close()
})

test('PRAGMA busy_timeout reports and sets the timeout, through execute and on the raw Database', async () => {
  const engine = tempEngine({ busyTimeoutMs: 1234 })
  const getter = writeModule('export function get(db) { return db.pragma("busy_timeout", { simple: true }) }')
  assert.equal(await engine.scalar('PRAGMA busy_timeout'), 1234)
  assert.equal(await engine.scalar('SELECT 1'), 1)
  assert.equal(await engine.scalar('PRAGMA busy_timeout = 777'), 777)
  assert.equal(await engine.scalar('SELECT 1'), 1)
  assert.equal(await engine.scalar('pragma BUSY_TIMEOUT'), 777)
  assert.equal(await engine.runInWorker(getter, 'get'), 777)
})

test('a string parameter with an unpaired surrogate binds as better-sqlite3 binds it, alone and packed in executeMany', async () => {
  const engine = tempEngine()
  const oracle = new Database(':memory:')
  const values = [
    '\uD800x',
    'a\uDFFFb',
    '\uDBFF',
    'x\uDC00\uD800',
    '\uD83D\uD83D\uDE00',
    'ok \uD83D\uDE00',
    '\uFFFD',
  ]
  for (const value of values) {
    assert.equal(
      await engine.scalar('SELECT hex(?)', [value]),
      oracle.prepare('SELECT hex(?)').pluck().get(value),
    )
    assert.equal(
      await engine.scalar('SELECT :v', { v: value }),
      oracle.prepare('SELECT :v').pluck().get({ v: value }),
    )
  }
  // 64 sets: packed into shared memory (and bound in C on the native path).
  const sets = Array.from({ length: 64 }, (_, i) => [i, values[i % values.length]!])
  await engine.exec('CREATE TABLE t (i INTEGER, s TEXT)')
  oracle.exec('CREATE TABLE t (i INTEGER, s TEXT)')
  await engine.executeMany('INSERT INTO t VALUES (?, ?)', sets)
  const insert = oracle.prepare('INSERT INTO t VALUES (?, ?)')
  for (const set of sets) insert.run(...set)
  const read = 'SELECT i, hex(s) AS h, s FROM t ORDER BY i'
  assert.deepEqual(await (await engine.execute(read)).fetchall(), oracle.prepare(read).all())
  oracle.close()
})

test('hasTable matches names as SQLite does: without regard to ASCII case, tables and views', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE Mixed (x); CREATE VIEW v AS SELECT 1')
  assert.deepEqual(
    await Promise.all(['Mixed', 'mixed', 'MIXED', 'v', 'V', 'missing'].map((name) => engine.hasTable(name))),
    [true, true, true, true, true, false],
  )
})

test('toArrow() keeps columns that share a name apart: each its own type and values', async () => {
  const engine = tempEngine()
  try {
    const table = await (await engine.execute("SELECT 1 AS a, 'x' AS a, 3.5 AS a, NULL AS b")).toArrow()
    assert.deepEqual(
      table.schema.fields.map((f) => `${f.name}:${f.type}`),
      ['a:Int64', 'a:Utf8', 'a:Float64', 'b:Null'],
    )
    assert.deepEqual(
      [0, 1, 2].map((c) => table.getChildAt(c)?.get(0)),
      [1n, 'x', 3.5],
    )
    const batches = []
    for await (const batch of (await engine.execute('SELECT 1 AS a, 2.5 AS a')).batches()) batches.push(batch)
    assert.deepEqual(
      batches[0]?.schema.fields.map((f) => String(f.type)),
      ['Int64', 'Float64'],
    )
  } finally {
    await engine.dispose()
  }
})

test('a rolled-back DDL and a re-attached name leave no stale column list, as better-sqlite3 sees them', async () => {
  const scenarios: string[][] = [
    [
      'CREATE TABLE t(x); INSERT INTO t VALUES (1)',
      'BEGIN',
      'ALTER TABLE t ADD COLUMN y DEFAULT 2',
      'ROLLBACK',
    ],
    [
      'CREATE TABLE t(x); INSERT INTO t VALUES (1)',
      'SAVEPOINT s',
      'ALTER TABLE t ADD COLUMN y DEFAULT 2',
      'ROLLBACK TO s',
      'RELEASE s',
    ],
    ['CREATE TABLE t(x, y); INSERT INTO t VALUES (1, 2)', 'BEGIN', 'ALTER TABLE t DROP COLUMN y', 'ROLLBACK'],
  ]
  for (const [setup, ...steps] of scenarios) {
    const path = tempDbPath()
    const oracle = new Database(path)
    oracle.exec(setup as string)
    const engine = createEngine(`sqlite:///${path}`, {
      native: process.env.SQLAIO_NATIVE === 'off' ? 'off' : 'auto',
    })
    const conn = await engine.connect()
    try {
      for (const step of steps) {
        await conn.execute(step)
        // Read after every step, so that the statement is cached under the schema of the moment.
        await (await conn.execute('SELECT * FROM t')).fetchall()
      }
      assert.deepEqual(
        await (await conn.execute('SELECT * FROM t')).fetchall(),
        oracle.prepare('SELECT * FROM t').all(),
      )
    } finally {
      await conn.close()
      await engine.dispose()
      oracle.close()
    }
  }
  // DETACH, then ATTACH another file under the same name.
  const [first, second] = [tempDbPath(), tempDbPath()]
  for (const [path, ddl] of [
    [first, 'CREATE TABLE t(a); INSERT INTO t VALUES (7)'],
    [second, 'CREATE TABLE t(p, q, r); INSERT INTO t VALUES (7, 8, 9)'],
  ] as const) {
    const db = new Database(path)
    db.exec(ddl)
    db.close()
  }
  const engine = tempEngine()
  const conn = await engine.connect()
  try {
    await conn.execute(`ATTACH '${first}' AS aux`)
    assert.deepEqual(await (await conn.execute('SELECT * FROM aux.t')).fetchall(), [{ a: 7 }])
    await conn.execute('DETACH aux')
    await conn.execute(`ATTACH '${second}' AS aux`)
    assert.deepEqual(await (await conn.execute('SELECT * FROM aux.t')).fetchall(), [{ p: 7, q: 8, r: 9 }])
  } finally {
    await conn.close()
    await engine.dispose()
  }
})
