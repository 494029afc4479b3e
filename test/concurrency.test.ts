/**
 * Concurrency: hundreds of concurrent engine calls (each gets its own answer), several
 * connections writing in transactions to one WAL database (the final state adds up), and many
 * un-awaited calls on one connection (run and answered in the order they were made).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Connection, DatabaseError } from '../src/index.js'
import { countSql, tempEngine } from './helpers.js'

test('hundreds of concurrent engine calls each get their own answer', async () => {
  const engine = tempEngine({ batchRows: 7 })
  const calls: Promise<void>[] = []
  for (let i = 0; i < 500; i++) {
    switch (i % 3) {
      case 0:
        calls.push(engine.scalar('SELECT ? * 2', [i]).then((v) => assert.equal(v, i * 2)))
        break
      case 1:
        calls.push(
          engine
            .execute(countSql((i % 40) + 1))
            .then((r) => r.scalars())
            .then((xs) =>
              assert.deepEqual(
                xs,
                Array.from({ length: (i % 40) + 1 }, (_, k) => k + 1),
              ),
            ),
        )
        break
      default:
        calls.push(
          engine
            .execute('SELECT ? AS s, ? AS n', [`call ${i}`, i])
            .then((r) => r.one())
            .then((row) => assert.deepEqual(row, { s: `call ${i}`, n: i })),
        )
    }
  }
  await Promise.all(calls)
})

test('concurrent calls across the engine and several connections', async () => {
  const engine = tempEngine({ batchRows: 5 })
  const connections = await Promise.all(Array.from({ length: 4 }, () => engine.connect()))
  const calls: Promise<void>[] = []
  for (let i = 0; i < 400; i++) {
    const db = i % 5 === 4 ? engine : connections[i % 4]!
    const n = (i % 23) + 1
    calls.push(
      db
        .execute(`SELECT x + ? AS y FROM (${countSql(n)})`, [i])
        .then((r) => r.fetchall())
        .then((rows) => {
          assert.equal(rows.length, n)
          assert.deepEqual(rows[n - 1], { y: n + i })
        }),
    )
  }
  await Promise.all(calls)
  await Promise.all(connections.map((c) => c.close()))
})

test('several connections writing in transactions to one WAL database', async () => {
  const engine = tempEngine({ busyTimeoutMs: 10_000 })
  await engine.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
    INSERT INTO counter VALUES (1, 0);
    CREATE TABLE log (writer INTEGER, seq INTEGER, PRIMARY KEY (writer, seq));
  `)
  assert.equal(await engine.scalar('PRAGMA journal_mode'), 'wal')
  const writers = 5
  const perWriter = 40
  const work = async (writer: number, conn: Connection): Promise<void> => {
    for (let seq = 0; seq < perWriter; seq++) {
      if (seq % 2 === 0) {
        // transaction(fn): the first statement writes, so SQLite takes the lock before reading.
        await conn.transaction(async (c) => {
          await c.execute('UPDATE counter SET n = n + 1 WHERE id = 1')
          await c.execute('INSERT INTO log VALUES (?, ?)', [writer, seq])
        })
      } else {
        // Read-then-write needs the write lock up front: BEGIN IMMEDIATE.
        await conn.exec('BEGIN IMMEDIATE')
        try {
          const n = (await conn.scalar('SELECT n FROM counter WHERE id = 1')) as number
          await conn.execute('UPDATE counter SET n = ? WHERE id = 1', [n + 1])
          await conn.execute('INSERT INTO log VALUES (?, ?)', [writer, seq])
          await conn.exec('COMMIT')
        } catch (error) {
          await conn.exec('ROLLBACK')
          throw error
        }
      }
    }
  }
  const connections = await Promise.all(Array.from({ length: writers }, () => engine.connect()))
  await Promise.all(connections.map((conn, w) => work(w, conn)))
  const total = writers * perWriter
  assert.equal(await engine.scalar('SELECT n FROM counter WHERE id = 1'), total)
  assert.equal(await engine.scalar('SELECT count(*) FROM log'), total)
  const perWriterCounts = await (
    await engine.execute('SELECT writer, count(*) AS c FROM log GROUP BY writer ORDER BY writer')
  ).fetchall()
  assert.deepEqual(
    perWriterCounts,
    Array.from({ length: writers }, (_, w) => ({ writer: w, c: perWriter })),
  )
  for (const conn of connections) assert.equal(conn.inTransaction, false)
  await Promise.all(connections.map((c) => c.close()))
})

test('readers see a consistent snapshot while writers commit (WAL)', async () => {
  const engine = tempEngine({ busyTimeoutMs: 10_000 })
  await engine.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
    INSERT INTO accounts SELECT x, 100 FROM (${countSql(10)});
  `)
  const writer = await engine.connect()
  const reader = await engine.connect()
  let transfers = 0
  let done = false
  const writing = (async () => {
    for (let i = 0; i < 60; i++) {
      const from = (i % 10) + 1
      const to = ((i * 7) % 10) + 1
      await writer.transaction(async (c) => {
        await c.execute('UPDATE accounts SET balance = balance - 5 WHERE id = ?', [from])
        await c.execute('UPDATE accounts SET balance = balance + 5 WHERE id = ?', [to])
      })
      transfers++
    }
    done = true
  })()
  let reads = 0
  while (!done) {
    // The total never changes, whatever a reader catches mid-way.
    assert.equal(await reader.scalar('SELECT sum(balance) FROM accounts'), 1000)
    reads++
  }
  await writing
  assert.equal(transfers, 60)
  assert.ok(reads > 0)
  assert.equal(await reader.scalar('SELECT sum(balance) FROM accounts'), 1000)
  await writer.close()
  await reader.close()
})

test('a writer without a busy timeout fails fast with SQLITE_BUSY, and recovers', async () => {
  const engine = tempEngine({ busyTimeoutMs: 0 })
  await engine.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (x)')
  const a = await engine.connect()
  const b = await engine.connect()
  await a.exec('BEGIN IMMEDIATE')
  await assert.rejects(b.execute('INSERT INTO t VALUES (1)'), (error: unknown) => {
    assert.ok(error instanceof DatabaseError)
    assert.match(error.code, /^SQLITE_BUSY/)
    return true
  })
  await a.exec('COMMIT')
  await b.execute('INSERT INTO t VALUES (1)')
  assert.equal(await a.scalar('SELECT count(*) FROM t'), 1)
  await a.close()
  await b.close()
})

test('many un-awaited calls on one connection run and answer in order', async () => {
  const engine = tempEngine({ batchRows: 3 })
  const conn = await engine.connect()
  await conn.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER)')
  const n = 300
  const settledOrder: number[] = []
  const calls: Promise<unknown>[] = []
  for (let i = 0; i < n; i++) {
    let call: Promise<unknown>
    switch (i % 3) {
      case 0:
        // Each insert returns its rowid: increasing rowids prove the worker ran them in order.
        call = conn.execute('INSERT INTO t (i) VALUES (?)', [i]).then((r) => r.lastInsertRowid)
        break
      case 1:
        call = conn.scalar('SELECT count(*) FROM t')
        break
      default:
        call = conn.execute(countSql((i % 10) + 1)).then((r) => r.fetchall())
    }
    calls.push(
      call.then((value) => {
        settledOrder.push(i)
        return value
      }),
    )
  }
  const values = await Promise.all(calls)
  for (let i = 0; i < n; i++) {
    const value = values[i]
    switch (i % 3) {
      case 0:
        assert.equal(value, i / 3 + 1, `insert ${i}`)
        break
      case 1:
        // Sees exactly the inserts made before it.
        assert.equal(value, Math.floor(i / 3) + 1, `count ${i}`)
        break
      default:
        assert.equal((value as unknown[]).length, (i % 10) + 1, `rows ${i}`)
    }
  }
  // Calls of one kind settle in the order they were made.
  const inserts = settledOrder.filter((i) => i % 3 === 0)
  assert.deepEqual(
    inserts,
    [...inserts].sort((a, b) => a - b),
  )
  assert.deepEqual(await (await conn.execute('SELECT i FROM t ORDER BY id')).scalars(), [
    ...Array.from({ length: n / 3 }, (_, k) => k * 3),
  ])
  await conn.close()
})

test('un-awaited calls inside a transaction keep their order and the transaction', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  await conn.exec('CREATE TABLE t (x INTEGER)')
  const tx = await conn.begin()
  const inserts = Array.from({ length: 100 }, (_, i) => conn.execute('INSERT INTO t VALUES (?)', [i]))
  const rollback = tx.rollback()
  const after = conn.scalar('SELECT count(*) FROM t')
  await Promise.all(inserts)
  await rollback
  assert.equal(await after, 0)
  assert.equal(conn.inTransaction, false)
  await conn.close()
})

test('many connections opened and closed concurrently', async () => {
  const engine = tempEngine({ poolSize: 3 })
  await engine.exec('CREATE TABLE t (x INTEGER)')
  await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const conn = await engine.connect()
      try {
        await conn.execute('INSERT INTO t VALUES (?)', [i])
      } finally {
        await conn.close()
      }
    }),
  )
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 12)
  assert.equal(await engine.scalar('SELECT sum(x) FROM t'), 66)
})
