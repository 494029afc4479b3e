/**
 * Writing results to files: what each writer writes reads back equal, through an independent
 * reader (apache-arrow for IPC, parquet-wasm for Parquet, csv-parse for CSV, lossless-json for
 * NDJSON), compared with what `fetchall()` returns. Covers NULLs, unicode, integers beyond 2^53,
 * BLOBs, mixed-type columns, empty results and results of many batches; then streams and
 * backpressure, cancellation, and errors.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { PassThrough, Writable } from 'node:stream'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { RecordBatchReader, type Table, tableFromIPC } from 'apache-arrow'
import { parse as parseCsv } from 'csv-parse/sync'
import { isInteger, parse as parseJson } from 'lossless-json'
import * as parquet from 'parquet-wasm'
import { AbortError, type Engine, IncompatibleBatchError, ResultError } from '../src/index.js'
import { countSql, runChild, tempDbPath, tempEngine, writeModule } from './helpers.js'

/** Rows per batch: small, so every result below spans many batches. */
const BATCH_ROWS = 7

const TEXTS = [
  'plain',
  '',
  'comma, inside',
  'quote " inside',
  '"quoted"',
  'line\nbreak',
  'crlf\r\nbreak',
  ' leading and trailing ',
  'é, ß, 中文, emoji 😀🎉 (astral)',
  'nul\u0000inside',
  'NULL',
]
const BIG_INTS = [
  0n,
  1n,
  -1n,
  9007199254740993n,
  -9007199254740993n,
  9223372036854775807n,
  -9223372036854775808n,
]
const REALS = [0.1, -2.5, 1e300, -1e-300, 3, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]
const BLOBS = [Buffer.from([0, 255, 1, 128]), Buffer.alloc(0), Buffer.from('bytes, "quoted"\n')]

/** 60 rows of every storage class, NULL in every column now and then, and a mixed column. */
async function fixture(): Promise<Engine> {
  const engine = tempEngine({ batchRows: BATCH_ROWS })
  await engine.exec('CREATE TABLE v (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, m)')
  const rows: unknown[][] = []
  for (let k = 0; k < 60; k++) {
    const pick = <T>(values: readonly T[]): T | null => (k % 5 === 4 ? null : values[k % values.length]!)
    const mixed = [k, k + 0.5, TEXTS[k % TEXTS.length]!, BLOBS[k % BLOBS.length]!, null, BIG_INTS[k % 7]!]
    rows.push([k + 1, pick(BIG_INTS), pick(REALS), pick(TEXTS), pick(BLOBS), mixed[k % mixed.length]])
  }
  await engine.executeMany('INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)', rows)
  return engine
}

const ALL = 'SELECT id, i, r, t, b, m FROM v ORDER BY id'
const TYPED = 'SELECT id, i, r, t, b FROM v ORDER BY id'

/** What fetchall() returns, as arrays of values with integers as bigints. */
async function expected(engine: Engine, sql: string): Promise<unknown[][]> {
  return (await engine.execute(sql, [], { intMode: 'bigint', rowMode: 'array' })).fetchall<unknown[]>()
}

/** A value in a form that deepEqual compares by content (bytes as hex, whatever their class). */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { blob: Buffer.from(value).toString('hex') }
  return value ?? null
}

function tableRows(table: Table): unknown[][] {
  const columns = table.schema.fields.map((_, c) => table.getChildAt(c)!)
  const rows: unknown[][] = []
  for (let i = 0; i < table.numRows; i++) rows.push(columns.map((column) => plain(column.get(i))))
  return rows
}

/**
 * A text field back into the value `like` says it held: CSV and NDJSON keep no types, so the
 * expected value's class says how to read the text (the rules in docs/files-and-cli.md).
 */
function fromText(field: unknown, like: unknown): unknown {
  if (field === null || like === null) return field
  if (typeof like === 'bigint') return BigInt(field as string | bigint)
  if (typeof like === 'number') return Number(field)
  if (like instanceof Uint8Array) return plain(Buffer.from(field as string, 'base64'))
  return field
}

function outPath(name: string): string {
  return tempDbPath(name)
}

test('writeIPC (file and stream formats) reads back equal to fetchall() and typed as toArrow()', async () => {
  const engine = await fixture()
  const want = (await expected(engine, ALL)).map((row) => row.map(plain))
  const types = (await (await engine.execute(ALL)).toArrow()).schema.fields.map((f) => String(f.type))
  for (const format of ['file', 'stream'] as const) {
    const path = outPath(`all.${format}.arrow`)
    const stats = await (await engine.execute(ALL)).writeIPC(path, { format })
    const bytes = readFileSync(path)
    assert.equal(stats.rows, 60)
    assert.equal(stats.bytes, bytes.byteLength)
    const table = tableFromIPC(bytes)
    assert.deepEqual(
      table.schema.fields.map((f) => f.name),
      ['id', 'i', 'r', 't', 'b', 'm'],
    )
    assert.deepEqual(
      table.schema.fields.map((f) => String(f.type)),
      types,
    )
    assert.deepEqual(tableRows(table), want)
    // The file format carries a footer for random access; the stream format does not.
    if (format === 'file') assert.equal(bytes.subarray(0, 6).toString('latin1'), 'ARROW1')
    else assert.equal(bytes.readInt32LE(0), -1, 'a stream starts with a continuation marker')
  }
})

test('toIPC returns the same rows as bytes, in the stream format by default', async () => {
  const engine = await fixture()
  const want = (await expected(engine, ALL)).map((row) => row.map(plain))
  const stream = await (await engine.execute(ALL)).toIPC()
  const reader = RecordBatchReader.from(stream)
  assert.ok(reader.isStream())
  assert.deepEqual(tableRows(tableFromIPC(stream)), want)
  const file = await (await engine.execute(ALL)).toIPC({ format: 'file' })
  assert.equal(Buffer.from(file.subarray(0, 6)).toString('latin1'), 'ARROW1')
  assert.deepEqual(tableRows(tableFromIPC(file)), want)
})

test('writeIPC of a column NULL in its first batches and typed later keeps every value', async () => {
  const engine = tempEngine({ batchRows: 3 })
  await engine.exec('CREATE TABLE s (x)')
  const values = [null, null, null, null, null, null, null, 5n, 'five', null]
  await engine.executeMany(
    'INSERT INTO s VALUES (?)',
    values.map((x) => [x]),
  )
  const path = outPath('late.arrow')
  await (await engine.execute('SELECT x FROM s ORDER BY rowid')).writeIPC(path)
  const table = tableFromIPC(readFileSync(path))
  assert.deepEqual(
    tableRows(table).map((row) => row[0]),
    values,
  )
})

test('writeIPC explains a column whose type changes after the schema was written', async () => {
  const engine = tempEngine({ batchRows: 2 })
  await engine.exec('CREATE TABLE s (x)')
  await engine.executeMany(
    'INSERT INTO s VALUES (?)',
    [1n, 2n, 3n, 4n, 'text', 'more'].map((x) => [x]),
  )
  const path = outPath('changed.arrow')
  const result = await engine.execute('SELECT x FROM s ORDER BY rowid')
  await assert.rejects(result.writeIPC(path), (error: unknown) => {
    assert.ok(error instanceof IncompatibleBatchError)
    assert.match(error.message, /column "x" was written as Int64 .* row 4 holds Utf8; CAST it/)
    return true
  })
  assert.equal(existsSync(path), false, 'the half-written file is removed')
  assert.equal(result.closed, true)
  // toIPC reads every row before choosing types: the same rows go through as a union.
  const bytes = await (await engine.execute('SELECT x FROM s ORDER BY rowid')).toIPC()
  assert.deepEqual(
    tableRows(tableFromIPC(bytes)).map((row) => row[0]),
    [1n, 2n, 3n, 4n, 'text', 'more'],
  )
})

test('writeCSV follows RFC 4180 and reads back equal to fetchall()', async () => {
  const engine = await fixture()
  const want = await expected(engine, ALL)
  const path = outPath('all.csv')
  const stats = await (await engine.execute(ALL)).writeCSV(path)
  const text = readFileSync(path, 'utf8')
  assert.equal(stats.rows, 60)
  assert.equal(stats.bytes, Buffer.byteLength(text))
  const records: (string | null)[][] = parseCsv(text, {
    // An unquoted empty field is NULL; a quoted one ("") is the empty string.
    cast: (value: string, context: { quoting: boolean }) => (context.quoting || value !== '' ? value : null),
    record_delimiter: '\r\n',
  })
  assert.deepEqual(records[0], ['id', 'i', 'r', 't', 'b', 'm'])
  assert.equal(records.length, 61)
  const got = records.slice(1).map((record, r) => record.map((field, c) => fromText(field, want[r]![c])))
  assert.deepEqual(
    got,
    want.map((row) => row.map(plain)),
  )
})

test('writeCSV options: no header, another delimiter, LF, a NULL marker, hex BLOBs', async () => {
  const engine = tempEngine()
  const result = await engine.execute(
    "SELECT 1 AS a, NULL AS b, 'x;y' AS c, 'NA' AS d, x'c0ffee' AS e, '' AS f, 'say \"hi\"' AS g",
  )
  const path = outPath('options.csv')
  await result.writeCSV(path, { header: false, delimiter: ';', newline: '\n', nullValue: 'NA', blobs: 'hex' })
  assert.equal(readFileSync(path, 'utf8'), '1;NA;"x;y";"NA";c0ffee;;"say ""hi"""\n')
})

test('writeNDJSON reads back equal to fetchall(), big integers exact', async () => {
  const engine = await fixture()
  const want = await expected(engine, ALL)
  const path = outPath('all.ndjson')
  const stats = await (await engine.execute(ALL)).writeNDJSON(path)
  const text = readFileSync(path, 'utf8')
  assert.equal(stats.rows, 60)
  assert.ok(text.endsWith('\n'))
  const lines = text.slice(0, -1).split('\n')
  assert.equal(lines.length, 60)
  const numbers = (value: string): unknown => (isInteger(value) ? BigInt(value) : Number(value))
  const got = lines.map((line, r) => {
    const object = parseJson(line, null, numbers) as Record<string, unknown>
    assert.deepEqual(Object.keys(object), ['id', 'i', 'r', 't', 'b', 'm'])
    return Object.values(object).map((field, c) => fromText(field, want[r]![c]))
  })
  assert.deepEqual(
    got,
    want.map((row) => row.map(plain)),
  )
})

test('writeParquet reads back equal through parquet-wasm, over several row groups', async () => {
  const engine = await fixture()
  const want = (await expected(engine, TYPED)).map((row) => row.map(plain))
  const path = outPath('typed.parquet')
  const stats = await (await engine.execute(TYPED)).writeParquet(path, { rowGroupRows: 16 })
  const bytes = readFileSync(path)
  assert.equal(stats.rows, 60)
  assert.equal(stats.bytes, bytes.byteLength)
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PAR1')
  const file = await parquet.ParquetFile.fromFile(new Blob([bytes]))
  assert.equal(file.metadata().numRowGroups(), 4)
  const table = tableFromIPC(parquet.readParquet(bytes).intoIPCStream())
  assert.deepEqual(
    table.schema.fields.map((f) => f.name),
    ['id', 'i', 'r', 't', 'b'],
  )
  assert.deepEqual(tableRows(table), want)
})

test('writeParquet counts every row of a result of many batches and row groups', async () => {
  const engine = tempEngine({ batchRows: 10_000 })
  const path = outPath('count.parquet')
  const stats = await (await engine.execute(countSql(300_000))).writeParquet(path, { rowGroupRows: 65_536 })
  assert.equal(stats.rows, 300_000)
  const file = await parquet.ParquetFile.fromFile(new Blob([readFileSync(path)]))
  assert.equal(file.metadata().fileMetadata().numRows(), 300_000)
  assert.equal(file.metadata().numRowGroups(), 5)
  const x = tableFromIPC(parquet.readParquet(readFileSync(path)).intoIPCStream()).getChild('x')!
  assert.equal(x.get(0), 1n)
  assert.equal(x.get(299_999), 300_000n)
})

test('writeParquet refuses a mixed-type column with an error naming it, and leaves no file', async () => {
  const engine = await fixture()
  const path = outPath('mixed.parquet')
  const result = await engine.execute(ALL)
  await assert.rejects(result.writeParquet(path), /Parquet has no union type, and column "m" mixes/)
  assert.equal(existsSync(path), false)
  assert.equal(result.closed, true)
})

test('writeParquet without parquet-wasm installed names the package to install', async () => {
  const hooks = writeModule(
    `export async function resolve(specifier, context, next) {
      if (specifier === 'parquet-wasm') {
        throw Object.assign(new Error('Cannot find package parquet-wasm'), { code: 'ERR_MODULE_NOT_FOUND' })
      }
      return next(specifier, context)
    }`,
    'hooks.mjs',
  )
  const register = writeModule(
    `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})`,
    'register.mjs',
  )
  const outcome = await runChild(
    `import { createEngine } from 'SQLAIO'
    const engine = createEngine('sqlite://')
    try {
      await (await engine.execute('SELECT 1 AS x')).writeParquet(${JSON.stringify(outPath('none.parquet'))})
    } catch (error) {
      console.log(error.message)
    }
    await engine.dispose()`,
    20_000,
    { NODE_OPTIONS: `--import ${register}` },
  )
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.match(outcome.stdout, /needs the optional package "parquet-wasm".*npm install parquet-wasm/)
})

test('every format writes an empty result with its columns', async () => {
  const engine = await fixture()
  const sql = 'SELECT id, t, b FROM v WHERE id < 0'
  const ipc = outPath('empty.arrow')
  assert.deepEqual(await (await engine.execute(sql)).writeIPC(ipc), {
    rows: 0,
    bytes: readFileSync(ipc).byteLength,
  })
  const table = tableFromIPC(readFileSync(ipc))
  assert.equal(table.numRows, 0)
  assert.deepEqual(
    table.schema.fields.map((f) => f.name),
    ['id', 't', 'b'],
  )
  const csv = outPath('empty.csv')
  await (await engine.execute(sql)).writeCSV(csv)
  assert.equal(readFileSync(csv, 'utf8'), 'id,t,b\r\n')
  const ndjson = outPath('empty.ndjson')
  await (await engine.execute(sql)).writeNDJSON(ndjson)
  assert.equal(readFileSync(ndjson, 'utf8'), '')
  const pq = outPath('empty.parquet')
  await (await engine.execute(sql)).writeParquet(pq)
  const back = tableFromIPC(parquet.readParquet(readFileSync(pq)).intoIPCStream())
  assert.equal(back.numRows, 0)
  assert.deepEqual(
    back.schema.fields.map((f) => f.name),
    ['id', 't', 'b'],
  )
})

test('a stream destination gets every byte with backpressure, and is ended unless end: false', async () => {
  const engine = tempEngine({ batchRows: 1000 })
  let maxBuffered = 0
  let largestChunk = 0
  const chunks: Buffer[] = []
  const slow = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk)
      largestChunk = Math.max(largestChunk, chunk.byteLength)
      setTimeout(callback, 1)
    },
  })
  const write = slow.write.bind(slow)
  slow.write = ((chunk: Buffer, ...rest: never[]) => {
    const ok = write(chunk, ...rest)
    maxBuffered = Math.max(maxBuffered, slow.writableLength)
    return ok
  }) as typeof slow.write
  const stats = await (await engine.execute(countSql(20_000))).writeCSV(slow)
  assert.equal(slow.writableFinished, true)
  const lines = Buffer.concat(chunks).toString().split('\r\n')
  assert.equal(lines.length, 20_002)
  assert.equal(lines[20_000], '20000')
  assert.equal(stats.bytes, Buffer.concat(chunks).byteLength)
  // The writer waits for 'drain': never more than one chunk is waiting in the stream.
  assert.ok(maxBuffered <= largestChunk, `${maxBuffered} bytes buffered, chunks up to ${largestChunk}`)

  const open = new PassThrough()
  await (await engine.execute('SELECT 1 AS x')).writeNDJSON(open, { end: false })
  assert.equal(open.writableEnded, false)
  assert.equal(open.read().toString(), '{"x":1}\n')
})

test('onProgress reports rows and bytes as they are written', async () => {
  const engine = tempEngine({ batchRows: 500 })
  const seen: { rows: number; bytes: number }[] = []
  const path = outPath('progress.ndjson')
  const stats = await (await engine.execute(countSql(5000))).writeNDJSON(path, {
    onProgress: (p) => seen.push({ ...p }),
  })
  assert.ok(seen.length >= 10)
  for (let k = 1; k < seen.length; k++) {
    assert.ok(seen[k]!.rows >= seen[k - 1]!.rows && seen[k]!.bytes > seen[k - 1]!.bytes)
  }
  assert.deepEqual(seen.at(-1), stats)
  assert.equal(stats.rows, 5000)
})

test('an aborted write rejects with AbortError, removes the file and closes the result', async () => {
  const engine = tempEngine({ batchRows: 1000 })
  const controller = new AbortController()
  const path = outPath('aborted.csv')
  const result = await engine.execute(countSql(1_000_000))
  await assert.rejects(
    result.writeCSV(path, { signal: controller.signal, onProgress: () => controller.abort('enough') }),
    (error: unknown) => error instanceof AbortError && error.cause === 'enough',
  )
  assert.equal(existsSync(path), false)
  assert.equal(result.closed, true)
  assert.equal(await engine.scalar('SELECT 41 + 1'), 42)
})

test('writers reject bad destinations and options with errors naming them, and close the result', async () => {
  const engine = tempEngine()
  const cases: [(r: Awaited<ReturnType<Engine['execute']>>) => Promise<unknown>, RegExp][] = [
    [(r) => r.writeCSV(42 as never), /destination must be a file path, a file: URL or a Writable stream/],
    [(r) => r.writeCSV(outPath('x.csv'), { delimiter: '"' }), /option "delimiter"/],
    [(r) => r.writeCSV(outPath('x.csv'), { newline: '\r' as never }), /option "newline"/],
    [(r) => r.writeNDJSON(outPath('x.json'), { blobs: 'utf8' as never }), /option "blobs"/],
    [(r) => r.writeIPC(outPath('x.arrow'), { format: 'feather' as never }), /option "format"/],
    [(r) => r.toIPC({ format: 'csv' as never }), /option "format"/],
    [(r) => r.writeParquet(outPath('x.pq'), { compression: 'lzma' as never }), /option "compression"/],
    [(r) => r.writeParquet(outPath('x.pq'), { rowGroupRows: 0 }), /option "rowGroupRows"/],
    [(r) => r.writeParquet(new PassThrough() as never), /file path/],
    [(r) => r.writeCSV(outPath('x.csv'), { onProgress: 'yes' as never }), /option "onProgress"/],
    [(r) => r.writeCSV('/nonexistent-dir/x.csv'), /ENOENT/],
  ]
  for (const [write, message] of cases) {
    const result = await engine.execute('SELECT 1 AS x')
    await assert.rejects(write(result), message)
    assert.equal(result.closed, true, String(message))
  }
  const insert = await engine.execute('CREATE TABLE t (x)')
  const path = outPath('none.csv')
  await assert.rejects(insert.writeCSV(path), ResultError)
  assert.equal(existsSync(path), false)
})
