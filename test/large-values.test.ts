/**
 * Large values (issue 5): a single TEXT and a single BLOB of 64 MB, and a row of 1,000 columns,
 * round-trip exactly through fetchall() and toArrow().
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { tempEngine } from './helpers.js'

const MB = 1024 * 1024

function bytesOf(value: unknown): Buffer {
  assert.ok(value instanceof Uint8Array, `expected bytes, got ${typeof value}`)
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

/** 64 MB of UTF-8 made of 1-, 2-, 3- and 4-byte characters, with embedded NULs. */
function bigText(): string {
  const unit = 'ascii \u00e9\u00df \u20ac\u4e2d \u{1F600}\u{10348}\u0000|' // 6+1+4+1+6+1+8+2 bytes
  const unitBytes = Buffer.byteLength(unit)
  const text = unit.repeat(Math.ceil((64 * MB) / unitBytes))
  return text
}

test('a 64 MB TEXT round-trips exactly (fetchall and toArrow)', async () => {
  const engine = tempEngine()
  const text = bigText()
  assert.ok(Buffer.byteLength(text) >= 64 * MB)
  await engine.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, t TEXT)')
  await engine.execute('INSERT INTO big (t) VALUES (?)', [text])
  assert.equal(await engine.scalar('SELECT length(CAST(t AS BLOB)) FROM big'), Buffer.byteLength(text))
  const rows = await (await engine.execute('SELECT id, t FROM big')).fetchall()
  assert.equal(rows.length, 1)
  assert.equal((rows[0] as { t: string }).t === text, true, 'fetchall returned different text')
  const table = await (await engine.execute('SELECT t FROM big')).toArrow()
  assert.equal(table.numRows, 1)
  assert.equal(table.getChild('t')?.get(0) === text, true, 'toArrow returned different text')
})

test('a 64 MB BLOB round-trips exactly (fetchall and toArrow)', async () => {
  const engine = tempEngine()
  const blob = randomBytes(64 * MB)
  await engine.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB)')
  await engine.execute('INSERT INTO big (b) VALUES (?)', [blob])
  assert.equal(await engine.scalar('SELECT length(b) FROM big'), 64 * MB)
  const rows = await (await engine.execute('SELECT b FROM big')).fetchall()
  assert.equal(rows.length, 1)
  assert.ok(bytesOf((rows[0] as { b: unknown }).b).equals(blob), 'fetchall returned different bytes')
  const table = await (await engine.execute('SELECT b FROM big')).toArrow()
  assert.equal(table.numRows, 1)
  assert.ok(bytesOf(table.getChild('b')?.get(0)).equals(blob), 'toArrow returned different bytes')
  // Beside small rows in the same result.
  await engine.execute('INSERT INTO big (b) VALUES (?), (NULL)', [Buffer.from([1, 2, 3])])
  const mixed = await (await engine.execute('SELECT b FROM big ORDER BY id')).fetchall()
  assert.equal(mixed.length, 3)
  assert.ok(bytesOf((mixed[0] as { b: unknown }).b).equals(blob))
  assert.deepEqual([...bytesOf((mixed[1] as { b: unknown }).b)], [1, 2, 3])
  assert.equal((mixed[2] as { b: unknown }).b, null)
})

test('a row of 1,000 columns of every storage class round-trips exactly', async () => {
  const engine = tempEngine()
  const n = 1000
  const names = Array.from({ length: n }, (_, i) => `c${i}`)
  const values: unknown[] = names.map((_, i) => {
    switch (i % 5) {
      case 0:
        return i * 1_000_003
      case 1:
        return i + 0.25
      case 2:
        return `text ${i} \u{1F600}`
      case 3:
        return Buffer.from([i & 255, (i >> 8) & 255, 0, 255])
      default:
        return null
    }
  })
  await engine.exec(`CREATE TABLE wide (${names.join(', ')})`)
  await engine.execute(`INSERT INTO wide VALUES (${names.map(() => '?').join(', ')})`, values)
  await engine.execute(`INSERT INTO wide VALUES (${names.map(() => '?').join(', ')})`, values)

  const result = await engine.execute('SELECT * FROM wide')
  assert.deepEqual(result.keys(), names)
  const rows = (await result.fetchall()) as Record<string, unknown>[]
  assert.equal(rows.length, 2)
  for (const row of rows) {
    assert.deepEqual(Object.keys(row), names)
    for (const [i, name] of names.entries()) {
      const expected = values[i]
      if (expected instanceof Uint8Array) assert.ok(bytesOf(row[name]).equals(expected), name)
      else assert.equal(row[name], expected, name)
    }
  }
  const arrays = (await (
    await engine.execute('SELECT * FROM wide', [], { rowMode: 'array' })
  ).fetchall()) as unknown[][]
  assert.equal(arrays[0]!.length, n)

  const table = await (await engine.execute('SELECT * FROM wide')).toArrow()
  assert.equal(table.numCols, n)
  assert.equal(table.numRows, 2)
  assert.deepEqual(
    table.schema.fields.map((f) => f.name),
    names,
  )
  for (const [i, name] of names.entries()) {
    const got = table.getChild(name)?.get(1)
    const expected = values[i]
    if (expected instanceof Uint8Array) assert.ok(bytesOf(got).equals(expected), name)
    else if (typeof expected === 'number' && Number.isInteger(expected))
      assert.equal(Number(got), expected, name)
    else assert.equal(got, expected, name)
  }
})
