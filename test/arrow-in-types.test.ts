/**
 * Arrow in, type by type, against better-sqlite3: every Arrow type that binds as it is (the ones
 * the native path binds in C, straight from the Arrow buffers) with nulls, empty values, extreme
 * values and sliced columns, inserted by `executeMany` by position and by name. The oracle binds
 * the same values, read with apache-arrow's `Vector.get` and converted as the JS path converts
 * them, through better-sqlite3's own prepared-insert loop.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  Binary,
  Bool,
  type DataType,
  FixedSizeBinary,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  LargeBinary,
  LargeUtf8,
  Null,
  Table,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
  vectorFromArray,
} from 'apache-arrow'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { binderOf } from '../src/arrow/bindable.js'
import { tempDbPath, tempEngine } from './helpers.js'

interface ColumnCase {
  type: DataType
  value: fc.Arbitrary<unknown>
}

const int = (bits: number, signed: boolean): fc.Arbitrary<number> =>
  fc.integer({ min: signed ? -(2 ** (bits - 1)) : 0, max: signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 })

const CASES: Record<string, ColumnCase> = {
  i8: { type: new Int8(), value: int(8, true) },
  i16: { type: new Int16(), value: int(16, true) },
  i32: { type: new Int32(), value: int(32, true) },
  i64: { type: new Int64(), value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) },
  u8: { type: new Uint8(), value: int(8, false) },
  u16: { type: new Uint16(), value: int(16, false) },
  u32: { type: new Uint32(), value: int(32, false) },
  u64: { type: new Uint64(), value: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }) },
  f32: { type: new Float32(), value: fc.float({ noNaN: true }) },
  f64: { type: new Float64(), value: fc.double({ noNaN: true }) },
  bool: { type: new Bool(), value: fc.boolean() },
  text: { type: new Utf8(), value: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  large_text: { type: new LargeUtf8(), value: fc.string({ maxLength: 20 }) },
  bytes: { type: new Binary(), value: fc.uint8Array({ maxLength: 20 }) },
  large_bytes: { type: new LargeBinary(), value: fc.uint8Array({ maxLength: 20 }) },
  fixed: { type: new FixedSizeBinary(3), value: fc.uint8Array({ minLength: 3, maxLength: 3 }) },
  nul: { type: new Null(), value: fc.constant(null) },
}
const NAMES = Object.keys(CASES)

/** `rows` rows of every case; about one value in five is null. */
const rowsArbitrary = fc.array(
  fc.record(Object.fromEntries(NAMES.map((name) => [name, fc.option(CASES[name]!.value, { freq: 5 })]))),
  { minLength: 1, maxLength: 60 },
)

function tableOf(rows: Record<string, unknown>[]): Table {
  return new Table(
    Object.fromEntries(
      NAMES.map((name) => [
        name,
        vectorFromArray(
          rows.map((row) => row[name]),
          CASES[name]!.type,
        ),
      ]),
    ),
  )
}

/** The table's rows as the JS path binds them: `Vector.get`, then the binder of the type. */
function boundRows(table: Table): unknown[][] {
  const rows: unknown[][] = []
  for (let i = 0; i < table.numRows; i++) {
    rows.push(
      table.schema.fields.map((field, c) => {
        const value = table.getChildAt(c)!.get(i)
        return value === null || value === undefined ? null : binderOf(field.type)!(value)
      }),
    )
  }
  return rows
}

const CREATE = `CREATE TABLE t (${NAMES.join(', ')})`

function readBack(filename: string): unknown[] {
  const db = new Database(filename, { readonly: true })
  try {
    const typed = NAMES.map((c) => `${c}, typeof(${c}) AS ${c}_type`).join(', ')
    return db.prepare(`SELECT ${typed} FROM t ORDER BY rowid`).safeIntegers(true).all()
  } finally {
    db.close()
  }
}

function oracle(rows: unknown[][]): unknown[] {
  const filename = tempDbPath('oracle.db')
  const db = new Database(filename)
  db.exec(CREATE)
  const insert = db.prepare(`INSERT INTO t VALUES (${NAMES.map(() => '?').join(', ')})`)
  db.transaction(() => {
    for (const row of rows) insert.run(row)
  })()
  db.close()
  return readBack(filename)
}

test('every type that binds as it is: the same table as better-sqlite3, sliced or not', async () => {
  const engine = tempEngine()
  await engine.exec(CREATE)
  const filename = engine.url.replace(/^sqlite:\/\//, '')
  const positional = `INSERT INTO t VALUES (${NAMES.map(() => '?').join(', ')})`
  const named = `INSERT INTO t (${[...NAMES].reverse().join(', ')}) VALUES (${[...NAMES]
    .reverse()
    .map((name) => `:${name}`)
    .join(', ')})`
  await fc.assert(
    fc.asyncProperty(rowsArbitrary, fc.nat(), fc.boolean(), async (rows, cut, byName) => {
      const whole = tableOf(rows)
      // A slice starts mid-byte in the validity bitmaps and inside the value buffers.
      const from = cut % whole.numRows
      const table = whole.slice(from)
      await engine.exec('DELETE FROM t')
      assert.equal(await engine.executeMany(byName ? named : positional, table), table.numRows)
      assert.deepEqual(readBack(filename), oracle(boundRows(table)))
    }),
    { numRuns: 40 },
  )
})

test('a Uint64 above 2^63 - 1 fails as too big, and nothing is inserted', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (a)')
  const table = new Table({ a: vectorFromArray([1n, 2n, 2n ** 63n], new Uint64()) })
  await assert.rejects(engine.executeMany('INSERT INTO t VALUES (?)', table), (error: unknown) => {
    assert.ok(error instanceof RangeError, String(error))
    assert.match(error.message, /too big/)
    return true
  })
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
})

test('columns that do not match the statement fail as better-sqlite3 fails them', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (a, b)')
  const table = new Table({
    a: vectorFromArray([1, 2], new Int32()),
    c: vectorFromArray(['x', 'y'], new Utf8()),
  })
  await assert.rejects(
    engine.executeMany('INSERT INTO t VALUES (:a, :b)', table),
    /Missing named parameter "b"/,
  )
  await assert.rejects(
    engine.executeMany('INSERT INTO t VALUES (?, ? || ?)', table),
    /Too few parameter values/,
  )
  await assert.rejects(engine.executeMany('INSERT INTO t (a) VALUES (?)', table), /Too many parameter values/)
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
  // Columns no named parameter asks for are left out, as better-sqlite3 ignores unused keys.
  assert.equal(await engine.executeMany('INSERT INTO t (a) VALUES (:a)', table), 2)
})
