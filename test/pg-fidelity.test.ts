/**
 * PostgreSQL results against `pg` on the same server, for cases a sweep of hand-written SQL
 * found wrong: an error the server sends after some rows, schemas of typed columns, results
 * without columns or rows, and the types whose decoding differed (float4 -0, numeric with a
 * negative scale, oid, name[], intervals beyond MonthDayNano).
 */
import assert from 'node:assert/strict'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { tableFromArrays } from 'apache-arrow'
import fc from 'fast-check'
import { DatabaseError, ResultError } from '../src/index.js'
import { pgEngine, pgSchema } from './pg-helpers.js'

const { url, client } = pgSchema('fidelity')

test('an error the server sends after some rows fails the read, whichever read and batch size', async () => {
  const engine = pgEngine(url)
  const failing = [
    ['SELECT x, 1 / (x - 5) AS q FROM generate_series(1, 10) x', 2],
    ['SELECT x, 1 / (x - 41) AS q FROM generate_series(1, 100) x', 20],
    ['SELECT x, 1 / (x - 41) AS q FROM generate_series(1, 100) x', 3],
  ] as const
  for (const [sql, batchRows] of failing) {
    for (const read of ['fetchall', 'toArrow', 'iterate'] as const) {
      const result = await engine.execute(sql, [], { batchRows })
      const all = async (): Promise<unknown> => {
        if (read !== 'iterate') return result[read]()
        for await (const _ of result);
      }
      await assert.rejects(
        all(),
        (error: unknown) => error instanceof DatabaseError && error.code === '22012',
      )
      assert.equal(result.closed, true, `${read} ${sql} ${batchRows}`)
    }
  }
  assert.equal(await engine.scalar('SELECT 41'), 41)
})

test('typed columns have a schema; toArrow() and column() of no rows are empty, typed', async () => {
  const engine = pgEngine(url)
  const result = await engine.execute("SELECT 1::int4 AS a, 'x'::text AS b, ARRAY[1.5::float8] AS c")
  assert.deepEqual(
    result.schema.fields.map((field) => String(field.type)),
    ['Int32', 'Utf8', 'List<Float64>'],
  )
  result.close()
  const empty = await (await engine.execute('SELECT 1::int4 AS a WHERE false')).toArrow()
  assert.equal(empty.numRows, 0)
  assert.equal(String(empty.schema.fields[0]!.type), 'Int32')
  assert.equal((await (await engine.execute('SELECT 1::int4 AS a WHERE false')).column('a')).length, 0)
  const drained = await engine.execute('SELECT 1::int4 AS a')
  await drained.fetchall()
  assert.equal((await drained.toArrow()).numRows, 0)
})

test('rows without columns are rows, as pg gives them', async () => {
  const engine = pgEngine(url)
  for (const sql of ['SELECT FROM generate_series(1, 5)', 'SELECT']) {
    assert.deepEqual(await (await engine.execute(sql)).fetchall(), (await client().query(sql)).rows)
    const arrays = await (await engine.execute(sql, [], { rowMode: 'array' })).fetchall()
    assert.deepEqual(arrays, (await client().query({ text: sql, rowMode: 'array' })).rows)
  }
})

test('unnamed columns (?column?) keep their own types in toArrow(); scalar() of rows without columns is a clear error', async () => {
  const engine = pgEngine(url)
  const table = await (await engine.execute("SELECT 1, 1.25::float8 * 2, 'x'")).toArrow()
  assert.deepEqual(
    table.schema.fields.map((f) => `${f.name}:${f.type}`),
    ['?column?:Int32', '?column?:Float64', '?column?:Utf8'],
  )
  assert.deepEqual(
    [0, 1, 2].map((c) => table.getChildAt(c)?.get(0)),
    [1, 2.5, 'x'],
  )
  for (const method of ['scalar', 'scalars'] as const) {
    await assert.rejects(
      (await engine.execute('SELECT FROM generate_series(1, 2)'))[method](),
      (e: unknown) => e instanceof ResultError && e.code === 'ERR_SQLAIO_NO_COLUMNS',
    )
  }
  assert.equal(await engine.scalar('SELECT 5'), 5)
})

test('a column named __proto__ is an own property of the row, as pg makes it', async () => {
  const engine = pgEngine(url)
  for (const sql of ['SELECT 3 AS "__proto__"', 'SELECT \'{"x": 1}\'::json AS "__proto__", 2 AS y']) {
    const [ours] = (await (await engine.execute(sql)).fetchall()) as Record<string, unknown>[]
    const [theirs] = (await client().query(sql)).rows as Record<string, unknown>[]
    assert.deepEqual(Object.keys(ours ?? {}), Object.keys(theirs ?? {}))
    assert.deepEqual(
      Object.getOwnPropertyDescriptor(ours, '__proto__')?.value,
      Object.getOwnPropertyDescriptor(theirs, '__proto__')?.value,
    )
    assert.equal(Object.getPrototypeOf(ours), Object.prototype)
  }
})

test('float4 values read as the numbers the server prints, ties and interval edges included', async () => {
  const engine = pgEngine(url)
  const word = new Uint32Array(1)
  const float = new Float32Array(word.buffer)
  const texts = ['224.453125', '53669888', '239828992', '1e-45', '3.4028235e38', '-0.1', '16777217']
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 50, maxLength: 200 }),
      async (words) => {
        const values = [...texts]
        for (const w of words) {
          word[0] = w
          if (Number.isFinite(float[0])) values.push((float[0] as number).toPrecision(9))
        }
        const sql = 'SELECT unnest($1::float4[]) AS f'
        const param = `{${values.join(',')}}`
        const ours = await (await engine.execute(sql, [param])).fetchall()
        const theirs = (await client().query(sql, [param])).rows
        assert.deepEqual(ours, theirs)
      },
    ),
    { numRuns: 20 },
  )
})

test('intervals past 2^53 µs read exactly; timestamps past the range of Arrow fail clearly; the last dates equal pg', async () => {
  const engine = pgEngine(url)
  for (const sql of [
    "SELECT '2501999:59:59.999999'::interval AS v",
    "SELECT '2502000 hours 0.000001 sec'::interval AS v",
    "SELECT '1 day 2562047:47:16.854775'::interval AS v",
    "SELECT '-2562047:47:16.854775'::interval AS v",
    "SELECT '275760-09-13'::date AS v",
    "SELECT '275760-09-12 23:00:00'::timestamp AS v",
  ]) {
    const ours = await (await engine.execute(sql)).scalar()
    const [theirs] = (await client().query(sql)).rows as { v: unknown }[]
    if (theirs?.v instanceof Date) {
      // An Invalid Date (a local time past the range of Date) equals only by its NaN time.
      assert.ok(ours instanceof Date, sql)
      assert.ok(
        Object.is(ours.getTime(), theirs.v.getTime()),
        `${sql}: ${ours.getTime()} ${theirs.v.getTime()}`,
      )
    } else {
      // pg's intervals are PostgresInterval instances: compare their fields.
      assert.deepEqual(ours, { ...(theirs?.v as object) }, sql)
    }
  }
  for (const sql of [
    "SELECT '294276-12-31 23:59:59.999999'::timestamp",
    "SELECT '294250-01-01'::timestamptz",
  ]) {
    await assert.rejects(
      engine.scalar(sql),
      (e: unknown) => e instanceof RangeError && /cast the column to text/.test(e.message),
    )
  }
  assert.equal(
    await engine.scalar("SELECT '294276-12-31 23:59:59.999999'::timestamp::text"),
    '294276-12-31 23:59:59.999999',
  )
})

test('float4 -0, numeric with a negative scale, oid and name[] read as pg reads them', async () => {
  const engine = pgEngine(url, { intMode: 'bigint' })
  for (const sql of [
    "SELECT '-0'::float4 AS v",
    "SELECT ARRAY['-0'::float4, 1.5] AS v",
    'SELECT 123::numeric(5, -2) AS v',
    'SELECT 0.00012::numeric(3, 5) AS v',
    'SELECT 4294967295::oid AS v',
    'SELECT ARRAY[1, 2, NULL]::oid[] AS v',
    "SELECT oid AS v FROM pg_class WHERE relname = 'pg_class'",
    "SELECT ARRAY['pg', 'x']::name[] AS v",
  ]) {
    const [ours] = (await (await engine.execute(sql)).fetchall()) as { v: unknown }[]
    const [theirs] = (await client().query(sql)).rows as { v: unknown }[]
    assert.deepStrictEqual(ours!.v, theirs!.v, sql)
  }
  const table = await (await engine.execute('SELECT 7::oid AS v')).toArrow()
  assert.equal(String(table.schema.fields[0]!.type), 'Uint32')
})

test('an interval beyond MonthDayNano fails with a RangeError saying what to do; the connection goes on', async () => {
  const engine = pgEngine(url)
  const conn = await engine.connect()
  assert.deepEqual(await conn.scalar("SELECT '2000000 hours'::interval"), { hours: 2000000 })
  // The first batch comes with the statement's start: execute() itself may be what rejects.
  await assert.rejects(
    async () => (await conn.execute("SELECT '3000000 hours'::interval AS v")).fetchall(),
    (error: unknown) => error instanceof RangeError && /cast the column to text/.test(error.message),
  )
  assert.equal(await conn.scalar("SELECT '3000000 hours'::interval::text"), '3000000:00:00')
  await conn.close()
})

test('insertArrow on PostgreSQL: its placeholders, types for a created table, a schema-qualified name', async () => {
  const engine = pgEngine(url, { intMode: 'bigint' })
  const table = tableFromArrays({
    i: Int32Array.from([1, 2]),
    big: BigInt64Array.from([1n, 2n ** 60n]),
    f: Float64Array.from([1.5, -2]),
    s: ['a', null],
    ok: [true, false],
  })
  const schema = (await engine.scalar('SELECT current_schema()')) as string
  assert.equal(await engine.insertArrow(`${schema}.arrow_in`, table, { create: true }), 2)
  const conn = await engine.connect()
  assert.equal(await conn.insertArrow('arrow_in', table), 2)
  await conn.close()
  const read = 'SELECT i, big, f, s, ok FROM arrow_in ORDER BY i, big'
  assert.deepEqual(await (await engine.execute(read)).fetchall(), [
    { i: 1, big: 1n, f: 1.5, s: 'a', ok: true },
    { i: 1, big: 1n, f: 1.5, s: 'a', ok: true },
    { i: 2, big: 2n ** 60n, f: -2, s: null, ok: false },
    { i: 2, big: 2n ** 60n, f: -2, s: null, ok: false },
  ])
  const types = await client().query(
    "SELECT data_type FROM information_schema.columns WHERE table_name = 'arrow_in' AND table_schema = $1 ORDER BY ordinal_position",
    [schema],
  )
  assert.deepEqual(
    types.rows.map((row) => row.data_type),
    ['integer', 'bigint', 'double precision', 'text', 'boolean'],
  )
})

test('rows across socket chunks: values larger than a chunk, and many small rows, as pg reads them', async () => {
  const engine = pgEngine(url)
  for (const sql of [
    "SELECT i, decode(repeat(md5(i::text), 100000), 'hex') AS big FROM generate_series(1, 3) i",
    "SELECT i, repeat('é', i % 700) AS s FROM generate_series(1, 30000) i",
  ]) {
    assert.deepEqual(await (await engine.execute(sql)).fetchall(), (await client().query(sql)).rows, sql)
  }
})

test('CSV and NDJSON of PostgreSQL types: booleans, exact decimals, ISO dates and times, intervals and arrays as JSON', async () => {
  const engine = pgEngine(url)
  const sql = `SELECT true AS b, 12.30::numeric(5, 2) AS n, '2020-02-29'::date AS d, 'infinity'::date AS di,
    '2020-01-01 12:34:56.789123+00'::timestamptz AS tz, '1969-12-31 23:59:59.5'::timestamp AS ts,
    '-infinity'::timestamptz AS tinf, '13:14:15.5'::time AS t, '1 year 2 days 00:00:03'::interval AS iv,
    ARRAY[1, 2, NULL]::int8[] AS a, NULL::bool AS nb`
  const text = async (write: 'writeCSV' | 'writeNDJSON'): Promise<string> => {
    const chunks: Buffer[] = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk)
        done()
      },
    })
    await (await engine.execute(sql))[write](sink)
    return Buffer.concat(chunks).toString()
  }
  assert.equal(
    await text('writeCSV'),
    'b,n,d,di,tz,ts,tinf,t,iv,a,nb\r\n' +
      'true,12.30,2020-02-29,infinity,2020-01-01T12:34:56.789123Z,1969-12-31T23:59:59.500000,-infinity,' +
      '13:14:15.5,"{""years"":1,""days"":2,""seconds"":3}","[1,2,null]",\r\n',
  )
  assert.deepEqual(JSON.parse(await text('writeNDJSON')), {
    b: true,
    n: '12.30',
    d: '2020-02-29',
    di: 'infinity',
    tz: '2020-01-01T12:34:56.789123Z',
    ts: '1969-12-31T23:59:59.500000',
    tinf: '-infinity',
    t: '13:14:15.5',
    iv: { years: 1, days: 2, seconds: 3 },
    a: [1, 2, null],
    nb: null,
  })
  await assert.rejects(
    async () =>
      (await engine.execute("SELECT '1 year'::interval AS iv")).writeParquet(
        join(tmpdir(), `iv-${process.pid}.parquet`),
      ),
    /no interval type, and column "iv" holds intervals/,
  )
})
