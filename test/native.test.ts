/**
 * The native fast path: which path an engine takes, results identical to the JS path
 * and to better-sqlite3's `.all()`, binding and errors as better-sqlite3 has them, interrupting
 * long statements, and the addon's handles. Tests that need the addon are skipped when it is not
 * built, unless SQLAIO_NATIVE=require (CI), where a missing addon fails.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { SqliteDriver } from '../src/dialects/sqlite/driver.js'
import { InterruptibleDriver } from '../src/dialects/sqlite/interrupt.js'
import { loadNative, NATIVE_ENTRY_POINT, NATIVE_PATH } from '../src/dialects/sqlite/native.js'
import { NativeReader } from '../src/dialects/sqlite/native-reader.js'
import {
  AbortError,
  createEngine,
  DatabaseError,
  type Engine,
  type EngineOptions,
  nativeAvailable,
} from '../src/index.js'
import { type BatchMessage, CONTROL_BLOCK_BYTES, Ctl } from '../src/thread/protocol.js'
import type { StatementOutcome } from '../src/worker/driver.js'
import { TEST_NATIVE, tempDbPath } from './helpers.js'

const needsAddon = nativeAvailable() || TEST_NATIVE === 'require' ? false : 'the native addon is not built'

const MODES = ['require', 'off'] as const

function engineOn(filename: string, native: 'require' | 'off', options?: EngineOptions): Engine {
  const engine = createEngine(`sqlite:///${filename}`, { ...options, native })
  after(() => engine.dispose())
  return engine
}

/** Values in a form deepEqual compares by content: blobs (Buffer or Uint8Array) as hex. */
function plain(rows: unknown[]): unknown[] {
  const cell = (value: unknown): unknown =>
    value instanceof Uint8Array ? { blob: Buffer.from(value).toString('hex') } : value
  return rows.map((row) =>
    Array.isArray(row)
      ? row.map(cell)
      : Object.fromEntries(Object.entries(row as Record<string, unknown>).map(([k, v]) => [k, cell(v)])),
  )
}

/** A database whose columns mix storage classes, with the values fidelity cares about. */
function mixedDatabase(): string {
  const filename = tempDbPath()
  const db = new Database(filename)
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, m, n INTEGER, z)`)
  const insert = db.prepare('INSERT INTO t (i, r, s, b, m, n, z) VALUES (?, ?, ?, ?, ?, ?, ?)')
  const big = [2n ** 53n, -(2n ** 53n), 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]
  const texts = ['', 'plain', 'é', '😀 astral 𝄞', 'a\u0000b', '\u0000', 'x'.repeat(1000)]
  const blobs = [Buffer.alloc(0), Buffer.from([0]), Buffer.from([1, 2, 255]), Buffer.alloc(1 << 20, 7)]
  const mixed: unknown[] = [1n, 2.5, 'text', Buffer.from([0xca, 0xfe]), null, -0, 1e308, 'é😀']
  db.defaultSafeIntegers(true)
  for (let k = 0; k < 40; k++) {
    insert.run(
      k % 5 === 0 ? null : big[k % big.length],
      k % 4 === 0 ? null : k % 3 === 0 ? -0 : k / 7,
      k % 6 === 0 ? null : texts[k % texts.length],
      k % 7 === 0 ? null : blobs[k % blobs.length],
      mixed[k % mixed.length],
      null,
      k % 9 === 0 ? 'late' : null,
    )
  }
  db.close()
  return filename
}

/** better-sqlite3's own answer, the oracle. */
function oracle(filename: string, sql: string, params: unknown[] = [], safeIntegers = true): unknown[] {
  const db = new Database(filename)
  try {
    return db
      .prepare(sql)
      .safeIntegers(safeIntegers)
      .all(...(params.length ? [params] : []))
  } finally {
    db.close()
  }
}

test('the addon loads where CI requires it', () => {
  if (TEST_NATIVE === 'require') assert.equal(nativeAvailable(), true, 'SQLAIO_NATIVE=require, but no addon')
  assert.equal(typeof nativeAvailable(), 'boolean')
})

test('the chosen path is observable on the engine', { skip: needsAddon }, async () => {
  const filename = tempDbPath()
  assert.equal(engineOn(filename, 'off').nativeEnabled, false)
  const required = engineOn(filename, 'require')
  assert.equal(required.nativeEnabled, true)
  assert.equal(await required.scalar('SELECT 40 + 2'), 42)
  const auto = createEngine('sqlite://', { native: 'auto' })
  after(() => auto.dispose())
  assert.equal(auto.nativeEnabled, true)
  assert.equal(createEngine('sqlite://').nativeEnabled, nativeAvailable())
})

test("without the addon, 'require' fails at createEngine and 'auto' uses the JS path", () => {
  // A copy of the built library with no native/ beside it: the addon cannot load there.
  const root = mkdtempSync(join(tmpdir(), 'sqlaio-nonative-'))
  after(() => rmSync(root, { recursive: true, force: true }))
  const dist = fileURLToPath(new URL('../', import.meta.url))
  cpSync(join(dist, 'src'), join(root, 'dist', 'src'), { recursive: true })
  symlinkSync(
    fileURLToPath(new URL('../../node_modules', import.meta.url)),
    join(root, 'node_modules'),
    'dir',
  )
  writeFileSync(join(root, 'package.json'), '{"type":"module"}')
  mkdirSync(join(root, 'scripts'))
  const script = join(root, 'scripts', 'check.mjs')
  writeFileSync(
    script,
    `import { createEngine, nativeAvailable } from '../dist/src/index.js'
     const out = { available: nativeAvailable() }
     try { createEngine('sqlite://', { native: 'require' }); out.require = 'created' }
     catch (error) { out.require = error.code; out.message = error.message }
     const engine = createEngine('sqlite://', { native: 'auto' })
     out.auto = engine.nativeEnabled
     out.answer = await engine.scalar('SELECT 6 * 7')
     await engine.dispose()
     console.log(JSON.stringify(out))`,
  )
  const out = JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8' }))
  assert.equal(out.available, false)
  assert.equal(out.require, 'ERR_SQLAIO_NATIVE_UNAVAILABLE')
  assert.match(out.message, /native: 'require'/)
  assert.equal(out.auto, false)
  assert.equal(out.answer, 42)
})

test('mixed storage classes, unicode, NUL, blobs, int64 edges: identical to the JS path and to .all()', {
  skip: needsAddon,
}, async () => {
  const filename = mixedDatabase()
  const sql = 'SELECT * FROM t ORDER BY id'
  const expected = plain(oracle(filename, sql))
  for (const batchRows of [1, 3, 7, 16384]) {
    for (const native of MODES) {
      const engine = engineOn(filename, native, { intMode: 'bigint', batchRows })
      const rows = await (await engine.execute(sql)).fetchall()
      assert.deepEqual(plain(rows), expected, `native: ${native}, batchRows ${batchRows}`)
    }
  }
})

test('both paths choose the same Arrow type for every column of every batch', {
  skip: needsAddon,
}, async () => {
  const filename = mixedDatabase()
  const shapes = await Promise.all(
    MODES.map(async (native) => {
      const engine = engineOn(filename, native, { batchRows: 6, intMode: 'bigint' })
      const result = await engine.execute('SELECT * FROM t ORDER BY id')
      const out: string[] = []
      for await (const batch of result.batches()) {
        out.push(`${batch.numRows}: ${batch.schema.fields.map((f) => `${f.name} ${f.type}`).join(', ')}`)
      }
      return out
    }),
  )
  assert.deepEqual(shapes[0], shapes[1])
  assert.ok(
    shapes[0]!.some((line) => line.includes('Union')),
    'some batch has a Mixed column',
  )
})

test('integer mode number: same values, same RangeError beyond 2^53', { skip: needsAddon }, async () => {
  const filename = mixedDatabase()
  const small = 'SELECT id, r, s, b, m FROM t ORDER BY id'
  const expected = plain(oracle(filename, small, [], false))
  for (const native of MODES) {
    const engine = engineOn(filename, native, { batchRows: 5 })
    assert.deepEqual(plain(await (await engine.execute(small)).fetchall()), expected)
    await assert.rejects(async () => (await engine.execute('SELECT i FROM t')).fetchall(), RangeError)
  }
})

test('batch boundaries: 0 to 15 rows in batches of 7', { skip: needsAddon }, async () => {
  const filename = tempDbPath()
  for (let n = 0; n <= 15; n++) {
    const sql = `WITH RECURSIVE c(x) AS (SELECT 1 WHERE ${n} > 0 UNION ALL SELECT x + 1 FROM c WHERE x < ${n})
      SELECT x, CASE WHEN x % 3 = 0 THEN NULL WHEN x % 3 = 1 THEN x ELSE 'v' || x END AS y FROM c`
    const results = await Promise.all(
      MODES.map(async (native) => {
        const engine = engineOn(filename, native, { batchRows: 7 })
        const result = await engine.execute(sql)
        const sizes: number[] = []
        for await (const batch of result.batches()) sizes.push(batch.numRows)
        const rows = await (await engine.execute(sql)).fetchall()
        return { sizes, rows }
      }),
    )
    assert.deepEqual(results[0], results[1], `${n} rows`)
    assert.deepEqual(results[0]!.rows, plain(oracle(filename, sql, [], false)))
  }
})

test('parameters bind as better-sqlite3 binds them, and fail with its errors', {
  skip: needsAddon,
}, async () => {
  const filename = tempDbPath()
  const sql = 'SELECT ? AS a, typeof(?) AS ta, ? AS b, ? AS c, ? AS d, ? AS e, ? AS f'
  const params = [1, 1, 2n ** 62n, 'é😀\u0000x', new Uint8Array([0, 1, 2]), null, 0.5]
  const expected = plain(oracle(filename, sql, params))
  const failures: string[][] = []
  for (const native of MODES) {
    const engine = engineOn(filename, native, { intMode: 'bigint' })
    assert.deepEqual(plain(await (await engine.execute(sql, params)).fetchall()), expected)
    assert.deepEqual(
      await (await engine.execute('SELECT :x AS x, @y AS y', { x: 1n, '@y': 'two' })).fetchall(),
      [{ x: 1n, y: 'two' }],
    )
    const messages: string[] = []
    for (const [statement, bound] of [
      ['SELECT ?, ?', [1]],
      ['SELECT ?', [1, 2]],
      ['SELECT :x, :y', { x: 1 }],
      ['SELECT :x', []],
      ['SELECT ?', { x: 1 }],
    ] as const) {
      const error = await engine.execute(statement, bound).then(
        () => assert.fail(`${statement} should reject`),
        (e: Error) => e,
      )
      messages.push(`${error.constructor.name}: ${error.message}`)
    }
    failures.push(messages)
  }
  assert.deepEqual(failures[0], failures[1])
})

test('SQLite errors while stepping: same class, code and message on both paths', {
  skip: needsAddon,
}, async () => {
  const filename = tempDbPath()
  const setup = new Database(filename)
  setup.exec('CREATE TABLE u (k INTEGER PRIMARY KEY)')
  setup.close()
  const seen: unknown[][] = []
  for (const native of MODES) {
    const engine = engineOn(filename, native, { batchRows: 2 })
    const key = native === 'off' ? 1 : 2
    const overflow = await engine
      .execute(
        `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5)
         SELECT CASE WHEN x = 4 THEN abs(-9223372036854775807 - 1) ELSE x END AS v FROM c`,
      )
      .then((result) => result.fetchall())
      .catch((e: unknown) => e)
    await engine.execute('INSERT INTO u VALUES (?) RETURNING k', [key])
    const duplicate = await engine
      .execute('INSERT INTO u VALUES (?) RETURNING k', [key])
      .then((result) => result.fetchall())
      .catch((e: unknown) => e)
    const described: unknown[] = []
    for (const error of [overflow, duplicate]) {
      assert.ok(error instanceof DatabaseError, `${native}: ${String(error)}`)
      described.push(error.code, error.message)
    }
    seen.push(described)
    assert.equal(await engine.scalar('SELECT count(*) FROM u WHERE k = ?', [key]), 1)
  }
  assert.deepEqual(seen[0], seen[1])
  assert.deepEqual(seen[0], [
    'SQLITE_ERROR',
    'integer overflow',
    'SQLITE_CONSTRAINT_PRIMARYKEY',
    'UNIQUE constraint failed: u.k',
  ])
})

const LONG_AGGREGATE =
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT count(*) FROM c'

test('aborting a long aggregate interrupts it; the connection answers next', {
  skip: needsAddon,
}, async () => {
  const engine = engineOn(tempDbPath(), 'require')
  const conn = await engine.connect()
  for (const sql of [
    LONG_AGGREGATE,
    // A single long step: the sort consumes every row before the first one comes out.
    `SELECT x FROM (${LONG_AGGREGATE.replace('count(*)', 'x')}) ORDER BY -x LIMIT 1`,
  ]) {
    const controller = new AbortController()
    const pending = conn.execute(sql, [], { signal: controller.signal })
    await new Promise((resolve) => setTimeout(resolve, 150))
    const aborted = performance.now()
    controller.abort(new Error('enough'))
    await assert.rejects(pending, AbortError)
    const rejectedMs = performance.now() - aborted
    // Without the interrupt the worker would go on counting to 1e9 (minutes) before this.
    assert.equal(await conn.scalar('SELECT 42'), 42)
    const answeredMs = performance.now() - aborted
    assert.ok(
      rejectedMs < 1000 && answeredMs < 2000,
      `rejected after ${rejectedMs} ms, answered after ${answeredMs} ms`,
    )
  }
  await conn.close()
})

test('dispose while a native statement runs ends the worker promptly', { skip: needsAddon }, async () => {
  const engine = createEngine(`sqlite:///${tempDbPath()}`, { native: 'require' })
  const pending = engine.execute(LONG_AGGREGATE).catch((e: Error) => e)
  await new Promise((resolve) => setTimeout(resolve, 150))
  const started = performance.now()
  await engine.dispose()
  assert.ok(performance.now() - started < 2000, 'dispose waited for the statement')
  assert.ok((await pending) instanceof Error)
})

test('terminated workers leave nothing registered for interrupts', { skip: needsAddon }, () => {
  // In a fresh process, so that registry ids start at 1 and no other engine holds any.
  const root = mkdtempSync(join(tmpdir(), 'sqlaio-registry-'))
  after(() => rmSync(root, { recursive: true, force: true }))
  const script = join(root, 'check.mjs')
  writeFileSync(
    script,
    `import { createEngine } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)}
     import { loadNative } from ${JSON.stringify(new URL('../src/dialects/sqlite/native.js', import.meta.url).href)}
     const addon = loadNative()
     const engine = createEngine('sqlite://', { native: 'require', poolSize: 1 })
     const conns = [await engine.connect(), await engine.connect()]
     for (const conn of conns) await conn.scalar('SELECT 1')
     await conns[0].close()
     await engine.scalar('SELECT 2')
     const registered = [1, 2, 3].map((id) => addon.interrupt(id, 0))
     await engine.dispose()
     const after = [1, 2, 3, 4].map((id) => addon.interrupt(id, 0))
     console.log(JSON.stringify({ registered, after }))`,
  )
  const out = JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8' }))
  assert.deepEqual(out, { registered: [true, true, true], after: [false, false, false, false] })
})

test('a SQLITE_INTERRUPT is an abort only for the cancelled request; a stale one re-runs a reader', {
  skip: needsAddon,
}, () => {
  // The worker's driver stack, on this thread, with a control block standing in for the
  // executor (runningId) and the main thread (cancelId). The interrupt is made to land while a
  // statement runs by a user function that calls it: deterministic, unlike a real race.
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_BLOCK_BYTES))
  const inner = new SqliteDriver({
    filename: tempDbPath(),
    readonly: false,
    fileMustExist: false,
    busyTimeoutMs: 0,
    memory: false,
  })
  const reader = NativeReader.attach(inner.raw, control, 0)
  inner.useNative(reader)
  const driver = new InterruptibleDriver(inner, control)
  let pokes = 0
  /** The request the next poke aims its interrupt at (0: whatever runs, as a stop does). */
  let aim = 0
  let landed: boolean[] = []
  inner.raw.function('poke', { safeIntegers: true }, (x: unknown) => {
    if (pokes > 0) {
      pokes--
      landed.push(loadNative()!.interrupt(reader.id, aim))
    }
    return x
  })
  driver.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3)')
  const rows = (sql: string): unknown[] => {
    const outcome = driver.execute(sql, [], 100) as StatementOutcome
    assert.ok(outcome.returnsRows)
    const batch = outcome.cursor.nextBatch(100) as BatchMessage
    return [...new BigInt64Array(batch.buffer, batch.columns[0]!.values, batch.numRows)]
  }
  // Request 5 runs; an interrupt aimed at request 4 does not land (the addon checks runningId
  // under the mutex the worker publishes it under).
  Atomics.store(control, Ctl.runningId, 5)
  aim = 4
  pokes = 1
  assert.deepEqual(rows('SELECT poke(x) FROM t'), [1n, 2n, 3n])
  assert.deepEqual(landed, [false])
  // An interrupt not meant for request 5 that lands anyway: the reader runs again.
  aim = 0
  pokes = 1
  landed = []
  assert.deepEqual(rows('SELECT poke(x) FROM t'), [1n, 2n, 3n])
  assert.deepEqual(landed, [true])
  // Request 6 is the one cancelled: an abort.
  Atomics.store(control, Ctl.runningId, 6)
  Atomics.store(control, Ctl.cancelId, 6)
  aim = 6
  pokes = 1
  assert.throws(() => rows('SELECT poke(x) FROM t'), { name: 'AbortError', code: 'ABORT_ERR' })
  aim = 0
  // A stale interrupt on a write is not retried: it stays SQLite's error.
  Atomics.store(control, Ctl.runningId, 7)
  pokes = 1
  assert.throws(() => rows('INSERT INTO t VALUES (poke(4)) RETURNING x'), {
    name: 'SqliteError',
    code: 'SQLITE_INTERRUPT',
  })
  assert.deepEqual(rows('SELECT x FROM t ORDER BY x'), [1n, 2n, 3n])
  inner.close()
})

test('addon handles: foreign and stale handles are clean errors', { skip: needsAddon }, () => {
  const addon = loadNative()!
  assert.throws(() => addon.step({} as never, 1), { name: 'TypeError', message: /statement handle/ })
  assert.throws(() => addon.prepare({} as never, 'SELECT 1'), {
    name: 'TypeError',
    message: /connection handle/,
  })
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_BLOCK_BYTES))
  assert.throws(() => addon.attach(control, 0), /no connection has loaded the extension/)
  assert.throws(() => addon.attach(new Int32Array(2), 0), /control block/)
  assert.equal(addon.interrupt(0, 0), false)
  assert.equal(addon.interrupt(0xffffffff, 0), false)
  // The whole life cycle on this thread, against better-sqlite3's own connection.
  const db = new Database(':memory:')
  const load = db.loadExtension as (path: string, entryPoint: string) => void
  load.call(db, NATIVE_PATH, NATIVE_ENTRY_POINT)
  const connection = addon.attach(control, 0)
  assert.throws(() => addon.step(connection as never, 1), { name: 'TypeError' })
  const id = addon.connectionId(connection)
  db.exec('CREATE TABLE v (x); INSERT INTO v VALUES (1), (2.5), (NULL)')
  db.exec('BEGIN; INSERT INTO v VALUES (4)')
  const statement = addon.prepare(connection, 'SELECT x FROM v WHERE x IS NOT ?')
  assert.equal(addon.open(statement, [99], [0]), true)
  assert.throws(() => addon.open(statement, [99], [0]), /busy/)
  const info = addon.step(statement, 10)!
  // The uncommitted row of better-sqlite3's transaction is visible: it is the same connection.
  assert.equal(info.numRows, 4)
  assert.equal(info.done, true)
  assert.equal(info.columns[0]!.kind, 5)
  const buffer = new SharedArrayBuffer(info.byteLength)
  addon.fill(statement, new Uint8Array(buffer))
  assert.throws(() => addon.fill(statement, new Uint8Array(buffer)), /no batch/)
  assert.equal(addon.interrupt(id, 0), true)
  addon.detach(connection)
  assert.equal(addon.interrupt(id, 0), false)
  assert.throws(() => addon.open(statement, [], [0]), /finalized/)
  assert.throws(() => addon.prepare(connection, 'SELECT 1'), /detached/)
  addon.detach(connection)
  db.exec('COMMIT')
  db.close()
})
