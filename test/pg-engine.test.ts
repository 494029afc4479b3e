/**
 * PostgreSQL through the engine, against the real server: results, types against `pg` as the
 * oracle, errors, transactions, cancellation, a lost backend, streaming.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  AbortError,
  type Connection,
  createEngine,
  DatabaseError,
  TimeoutError,
  WorkerCrashedError,
} from '../src/index.js'
import { runChild } from './helpers.js'
import { PG_URL, pgEngine, pgSchema } from './pg-helpers.js'

const { url, client } = pgSchema('engine')

test('engine reports its dialect and runs simple queries', async () => {
  const engine = pgEngine(url)
  assert.equal(engine.dialect, 'postgresql')
  assert.equal(await engine.scalar('SELECT 41 + 1'), 42)
  const result = await engine.execute('SELECT $1::text AS a, $2::int AS b', ['x', 7])
  assert.deepEqual(await result.fetchall(), [{ a: 'x', b: 7 }])
  assert.equal(createEngine('postgres://postgres@127.0.0.1/test').dialect, 'postgresql')
  assert.equal(createEngine('postgresql+pg://postgres@127.0.0.1/test').dialect, 'postgresql')
})

test('every type of the table equals what pg returns', async () => {
  const engine = pgEngine(url, { intMode: 'number' })
  const sql = `SELECT 1::int2 a, 2::int4 b, 3::int8 c, 1.5::float4 d, 2.5::float8 e, 12.30::numeric(10,2) f,
    12.345::numeric g, true h, 'héllo 🎉'::text i, 'v'::varchar(3) j, 'b'::char(3) k, 'n'::name l,
    '\\x00ff'::bytea m, '2020-02-29'::date n, '1999-12-31 23:59:59.999999'::timestamp o,
    '1969-07-20 20:17:40+00'::timestamptz p, '13:14:15.25'::time q, '{"a": [1, 2]}'::json r,
    '{"b": null}'::jsonb s, '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid t, ARRAY[1, NULL, 3]::int4[] u,
    ARRAY['a', NULL]::text[] v, '10.0.0.1'::inet w, 'infinity'::timestamp x, '-infinity'::date y,
    NULL::int4 z, '{}'::int4[] aa, ARRAY[true, false] bb`
  const ours = await (await engine.execute(sql)).fetchall()
  const theirs = (await client().query(sql)).rows
  const expected = { ...theirs[0], c: 3 } // int8 follows intMode ('number'); pg gives a string
  assert.deepEqual(ours, [expected])
  const table = await (await engine.execute(sql)).toArrow()
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]))
  assert.equal(types.a, 'Int16')
  assert.equal(types.f, 'Decimal[10e+2]') // Arrow prints precision 10, scale 2 so
  assert.equal(types.g, 'Utf8')
  assert.match(types.p!, /Timestamp<MICROSECOND, UTC>/)
  assert.equal(types.u, 'List<Int32>')
  assert.equal(table.getChild('f')?.get(0)?.toString(), '1230')
})

test('differential: random values round-trip as pg shows them (batch boundaries included)', async () => {
  const engine = pgEngine(url, { intMode: 'bigint', batchRows: 7 })
  await client().query(
    'CREATE TABLE prop (i SERIAL PRIMARY KEY, a int8, b float8, c text, d bytea, e bool, f int4[], g numeric, h timestamptz)',
  )
  const row = fc.record({
    a: fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
    b: fc.option(fc.double({ noNaN: true })),
    c: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\0'))),
    d: fc.option(fc.uint8Array({ maxLength: 64 })),
    e: fc.option(fc.boolean()),
    f: fc.option(fc.array(fc.option(fc.integer()), { maxLength: 5 })),
    g: fc.option(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map((n) => `${n}.${n < 0n ? 5 : 25}`)),
    h: fc.option(fc.integer({ min: -4e12, max: 4e12 }).map((ms) => new Date(ms))),
  })
  await fc.assert(
    fc.asyncProperty(fc.array(row, { maxLength: 30 }), async (rows) => {
      await client().query('TRUNCATE prop')
      for (const r of rows) {
        await client().query(
          'INSERT INTO prop (a, b, c, d, e, f, g, h) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [
            r.a === null ? null : String(r.a),
            r.b,
            r.c,
            r.d === null ? null : Buffer.from(r.d),
            r.e,
            r.f,
            r.g,
            r.h,
          ],
        )
      }
      const sql = 'SELECT a, b, c, d, e, f, g, h FROM prop ORDER BY i'
      const ours = await (await engine.execute(sql)).fetchall()
      const theirs = (await client().query(sql)).rows.map((r) => ({
        ...r,
        a: r.a === null ? null : BigInt(r.a),
      }))
      assert.deepEqual(ours, theirs)
    }),
    { numRuns: 25 },
  )
})

test('errors: SQLSTATE code, detail, constraint, position; the connection answers after', async () => {
  const engine = pgEngine(url)
  const conn = await engine.connect()
  try {
    await conn.exec('CREATE TABLE uniq (id int PRIMARY KEY)')
    await conn.execute('INSERT INTO uniq VALUES ($1)', [1])
    await assert.rejects(conn.execute('INSERT INTO uniq VALUES ($1)', [1]), (error: unknown) => {
      assert.ok(error instanceof DatabaseError)
      assert.equal(error.code, '23505')
      assert.equal(error.constraint, 'uniq_pkey')
      assert.match(error.detail ?? '', /Key \(id\)=\(1\) already exists/)
      return true
    })
    await assert.rejects(conn.execute('SELECT 1 FROM nowhere_at_all'), (error: unknown) => {
      assert.ok(error instanceof DatabaseError)
      assert.equal(error.code, '42P01')
      assert.equal(error.position, 15)
      return true
    })
    await assert.rejects(
      conn.execute('SELECT $1::int + $2::int', [1]),
      /takes 2 parameter\(s\) but 1 were given/,
    )
    await assert.rejects(conn.execute('SELECT $1::int', { a: 1 }), TypeError)
    assert.equal(await conn.scalar('SELECT count(*)::int FROM uniq'), 1)
  } finally {
    await conn.close()
  }
})

test('bad URLs and unknown users or databases fail clearly', async () => {
  assert.throws(() => createEngine('postgresql://'), /names no host/)
  assert.throws(() => createEngine('postgresql://postgres@/test'), /names no host/)
  // A user before an empty host, the host in the query: pg's form, which WHATWG URL refuses.
  const queryHost = createEngine('postgresql://postgres@/test?host=127.0.0.1')
  assert.equal(await queryHost.scalar('SELECT 7'), 7)
  await queryHost.dispose()
  const unknownDb = createEngine(PG_URL.replace(/\/[^/?]*(\?|$)/, '/sqlaio_no_such_db$1'))
  await assert.rejects(unknownDb.scalar('SELECT 1'), /database "sqlaio_no_such_db" does not exist/)
  await unknownDb.dispose()
  const unknownUser = createEngine('postgresql://sqlaio_nobody@127.0.0.1:5432/test')
  await assert.rejects(unknownUser.connect(), /role "sqlaio_nobody" does not exist/)
  await unknownUser.dispose()
})

test('transactions, savepoints, and a failed transaction', async () => {
  const engine = pgEngine(url)
  await engine.exec('CREATE TABLE tx (v int)')
  await engine.transaction(async (c) => {
    await c.execute('INSERT INTO tx VALUES (1)')
    await c
      .transaction(async (n) => {
        await n.execute('INSERT INTO tx VALUES (2)')
        throw new Error('undo the savepoint')
      })
      .catch(() => {})
  })
  assert.deepEqual(await (await engine.execute('SELECT v FROM tx')).scalars(), [1])
  const conn = await engine.connect()
  const tx = await conn.begin()
  assert.equal(conn.inTransaction, true)
  await assert.rejects(
    conn.execute('SELECT 1/0'),
    (e: unknown) => e instanceof DatabaseError && e.code === '22012',
  )
  assert.equal(conn.inTransaction, true) // failed, still open: only ROLLBACK is accepted
  await assert.rejects(
    conn.execute('SELECT 1'),
    (e: unknown) => e instanceof DatabaseError && e.code === '25P02',
  )
  await assert.rejects(tx.commit(), (e: unknown) => e instanceof DatabaseError && e.code === '25P02')
  assert.equal(conn.inTransaction, false)
  assert.equal(await conn.scalar('SELECT 3'), 3)
  await conn.close()
})

test('hasTable, tableNames, executeMany, exec, runInWorker', async () => {
  const engine = pgEngine(url)
  await engine.exec('CREATE TABLE many (v int); CREATE VIEW many_view AS SELECT * FROM many')
  assert.equal(await engine.executeMany('INSERT INTO many VALUES ($1)', [[1], [2], [3]]), 3)
  assert.equal(await engine.hasTable('many'), true)
  assert.equal(await engine.hasTable('many_view'), true)
  assert.equal(await engine.hasTable('nope'), false)
  assert.ok((await engine.tableNames()).includes('many'))
  await assert.rejects(engine.executeMany('INSERT INTO many VALUES ($1)', [[4], ['x']]), DatabaseError)
  assert.equal(await engine.scalar('SELECT count(*)::int FROM many'), 3)
})

test('cancelling pg_sleep(30) stops it on the server; the connection answers next', async () => {
  const engine = pgEngine(url)
  const conn = await engine.connect()
  const started = performance.now()
  await assert.rejects(conn.execute('SELECT pg_sleep(30)', [], { timeoutMs: 200 }), TimeoutError)
  assert.ok(performance.now() - started < 5000)
  assert.equal(await conn.scalar('SELECT 5'), 5)
  const tx = await conn.begin()
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 100)
  await assert.rejects(conn.execute('SELECT pg_sleep(30)', [], { signal: controller.signal }), AbortError)
  assert.equal(conn.inTransaction, true) // the transaction is failed: roll it back
  await tx.rollback()
  assert.equal(conn.inTransaction, false)
  assert.equal(await conn.scalar('SELECT 6'), 6)
  await conn.close()
})

test('cancelling a long result mid-stream', async () => {
  const engine = pgEngine(url, { batchRows: 1000 })
  const controller = new AbortController()
  const result = await engine.execute("SELECT g, repeat('x', 50) FROM generate_series(1, 5000000) g", [], {
    signal: controller.signal,
  })
  let rows = 0
  await assert.rejects(async () => {
    for await (const _ of result) {
      if (++rows === 3000) controller.abort()
    }
  }, AbortError)
  assert.equal(await engine.scalar('SELECT 7'), 7)
})

test('a backend terminated mid-query: clear error, the engine recovers', async () => {
  const engine = pgEngine(url)
  const conn = await engine.connect()
  const pid = await conn.scalar('SELECT pg_backend_pid()')
  // The rejection may come before pg_terminate_backend's own reply: watch for it from the start.
  const running = assert.rejects(
    conn.execute('SELECT pg_sleep(30)'),
    (e: unknown) => e instanceof DatabaseError && e.code === '57P01',
  )
  await new Promise((r) => setTimeout(r, 200))
  await client().query('SELECT pg_terminate_backend($1)', [pid])
  await running
  await new Promise((r) => setTimeout(r, 100))
  await assert.rejects(
    conn.scalar('SELECT 1'),
    (e: unknown) => e instanceof Error && /closed/.test(e.message),
  )
  const implicitPid = await engine.scalar('SELECT pg_backend_pid()')
  await client().query('SELECT pg_terminate_backend($1)', [implicitPid])
  await new Promise((r) => setTimeout(r, 200))
  // The idle worker noticed the lost connection and exited: the engine starts a fresh one.
  assert.equal(await engine.scalar('SELECT 1').catch((e: unknown) => e instanceof WorkerCrashedError), 1)
  assert.equal(await engine.scalar('SELECT 8'), 8)
})

test('streams a large result in batches with backpressure', async () => {
  const engine = pgEngine(url, { batchRows: 10000, intMode: 'number' })
  const result = await engine.execute('SELECT g::int8 AS g FROM generate_series(1, 300000) g')
  let batches = 0
  let sum = 0
  for await (const batch of result.batches()) {
    batches++
    for (const v of batch.getChild('g')!) sum += Number(v)
  }
  assert.equal(batches, 30)
  assert.equal(sum, (300000 * 300001) / 2)
})

test('connections share threads: each keeps its own server connection, none waits for another, a lost one leaves the rest serving', async () => {
  const engine = pgEngine(url)
  const conns = await Promise.all(Array.from({ length: 6 }, () => engine.connect()))
  const pids = await Promise.all(conns.map((c) => c.scalar('SELECT pg_backend_pid()')))
  assert.equal(new Set(pids).size, 6)
  // A long statement on one connection: every other connection still answers meanwhile.
  const [slow, ...others] = conns as [Connection, ...Connection[]]
  let slowDone = false
  const sleeping = slow.scalar('SELECT pg_sleep(1.5)::text').then(() => {
    slowDone = true
  })
  await new Promise((r) => setTimeout(r, 100))
  assert.deepEqual(await Promise.all(others.map((c, i) => c.scalar('SELECT $1::int', [i]))), [0, 1, 2, 3, 4])
  assert.equal(slowDone, false)
  await sleeping
  // The server ends one connection's backend: its calls fail, its neighbours' do not.
  await client().query('SELECT pg_terminate_backend($1)', [pids[0]])
  await assert.rejects(
    (async () => {
      for (;;) await slow.scalar('SELECT 1')
    })(),
    (e: unknown) => e instanceof Error,
  )
  assert.deepEqual(await Promise.all(others.map((c) => c.scalar('SELECT pg_backend_pid()'))), pids.slice(1))
  await Promise.all(conns.map((c) => c.close()))
  assert.equal(await engine.scalar('SELECT 9'), 9)
})

test('an idle PostgreSQL engine lets the process exit by itself; a pending call keeps it alive', async () => {
  const outcome = await runChild(
    `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine(${JSON.stringify(url)})
    const a = await engine.connect()
    const b = await engine.connect()
    console.log(await a.scalar('SELECT 1'), await b.scalar('SELECT 2'))
    await b.close()
    engine.scalar("SELECT pg_sleep(0.5)::text || 'slept'").then((v) => console.log(v))
    `,
    20_000,
  )
  assert.equal(outcome.timedOut, false, 'the process did not exit by itself')
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.deepEqual(outcome.stdout.trim().split('\n'), ['1 2', 'slept'])
})
