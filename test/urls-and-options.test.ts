/**
 * createEngine: SQLAlchemy-style URLs (good and bad) and option validation (TypeError or
 * RangeError naming the option), plus the effect of the options that change behaviour.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { after, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import { createEngine, DatabaseError, Engine, type EngineOptions } from '../src/index.js'
import { tempDbPath, writeModule } from './helpers.js'

const engines: Engine[] = []
after(async () => {
  await Promise.all(engines.map((e) => e.dispose()))
})

function make(url: string, options?: EngineOptions): Engine {
  const engine = createEngine(url, options)
  engines.push(engine)
  return engine
}

test('sqlite:////absolute/path opens that file', async () => {
  const path = tempDbPath('abs.db')
  const engine = make(`sqlite:///${path}`)
  assert.ok(engine instanceof Engine)
  assert.equal(engine.url, `sqlite:///${path}`)
  assert.equal(engine.dialect, 'sqlite')
  await engine.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
  const direct = new Database(path, { readonly: true })
  assert.equal(direct.prepare('SELECT x FROM t').pluck().get(), 1)
  direct.close()
})

test('sqlite:///relative.db is relative to the working directory', async () => {
  const path = tempDbPath('rel.db')
  const rel = relative(process.cwd(), path)
  assert.ok(!rel.startsWith('/'))
  const engine = make(`sqlite:///${rel}`)
  await engine.exec('CREATE TABLE t (x); INSERT INTO t VALUES (2)')
  assert.ok(existsSync(path))
  const direct = new Database(path, { readonly: true })
  assert.equal(direct.prepare('SELECT x FROM t').pluck().get(), 2)
  direct.close()
})

test('percent-encoded paths are decoded', async () => {
  const path = tempDbPath('with space.db')
  const engine = make(`sqlite:///${path.replace(' ', '%20')}`)
  await engine.exec('CREATE TABLE t (x)')
  assert.ok(existsSync(path))
})

test('sqlite:// and sqlite:///:memory: are in-memory databases', async () => {
  for (const url of ['sqlite://', 'sqlite:///:memory:']) {
    const engine = make(url)
    await engine.exec('CREATE TABLE t (x)')
    assert.deepEqual(await engine.tableNames(), ['t'])
    assert.equal(existsSync(':memory:'), false)
  }
})

test('createEngine starts nothing and creates no file until first use', async () => {
  const path = tempDbPath('lazy.db')
  const engine = make(`sqlite:///${path}`)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(existsSync(path), false)
  await engine.scalar('SELECT 1')
  assert.equal(existsSync(path), true)
})

test('bad URLs throw at createEngine', () => {
  const bad = [
    'postgres:///db',
    'mysql:///x.db',
    'sqlite:',
    'sqlite:/x.db',
    'sqlite//x.db',
    'not a url',
    '',
    'sqlite://host/x.db',
    'sqlite:///',
    'sqlite:////',
    'sqlite:///data/',
    'sqlite:///x.db?mode=ro',
  ]
  for (const url of bad) {
    assert.throws(
      () => createEngine(url),
      (error: unknown) => error instanceof TypeError || error instanceof RangeError,
      `URL ${JSON.stringify(url)} was accepted`,
    )
  }
  for (const url of [42, null, undefined, {}]) {
    assert.throws(() => createEngine(url as never), TypeError)
  }
  assert.throws(() => createEngine('mysql://localhost/db'), /mysql/)
})

test('a URL object is taken as its text', async () => {
  const engine = createEngine(new URL('sqlite:///:memory:'))
  assert.equal(engine.url, 'sqlite:///:memory:')
  assert.equal(await engine.scalar('SELECT 1'), 1)
  await engine.dispose()
})

test('bad option values throw a TypeError or RangeError naming the option', () => {
  const cases: [Record<string, unknown>, typeof TypeError | typeof RangeError, string][] = [
    [{ batchRows: 0 }, RangeError, 'batchRows'],
    [{ batchRows: -5 }, RangeError, 'batchRows'],
    [{ batchRows: 2.5 }, TypeError, 'batchRows'],
    [{ batchRows: '100' }, TypeError, 'batchRows'],
    [{ batchRows: Number.NaN }, TypeError, 'batchRows'],
    [{ prefetchBatches: 0 }, RangeError, 'prefetchBatches'],
    [{ prefetchBatches: null }, TypeError, 'prefetchBatches'],
    [{ poolSize: -1 }, RangeError, 'poolSize'],
    [{ poolSize: 'many' }, TypeError, 'poolSize'],
    [{ idleTimeoutMs: -1 }, RangeError, 'idleTimeoutMs'],
    [{ idleTimeoutMs: Infinity }, TypeError, 'idleTimeoutMs'],
    [{ intMode: 'float' }, TypeError, 'intMode'],
    [{ intMode: 1 }, TypeError, 'intMode'],
    [{ rowMode: 'tuple' }, TypeError, 'rowMode'],
    [{ busyTimeoutMs: -10 }, RangeError, 'busyTimeoutMs'],
    [{ busyTimeoutMs: '5s' }, TypeError, 'busyTimeoutMs'],
    [{ readonly: 'yes' }, TypeError, 'readonly'],
    [{ fileMustExist: 1 }, TypeError, 'fileMustExist'],
    [{ setup: 42 }, TypeError, 'setup'],
    [{ setup: '' }, TypeError, 'setup'],
    [{ native: 'maybe' }, TypeError, 'native'],
    [{ logger: 'console' }, TypeError, 'logger'],
    [{ batchSize: 10 }, TypeError, 'batchSize'],
  ]
  for (const [options, kind, name] of cases) {
    assert.throws(
      () => createEngine('sqlite://', options as EngineOptions),
      (error: unknown) => {
        assert.ok(error instanceof kind, `${JSON.stringify(options)} threw ${String(error)}`)
        assert.ok(
          (error as Error).message.includes(name),
          `"${(error as Error).message}" does not name ${name}`,
        )
        return true
      },
    )
  }
  for (const options of ['fast', 42, null]) {
    assert.throws(() => createEngine('sqlite://', options as never), TypeError)
  }
})

test('every documented option is accepted with a good value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlaio-setup-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const engine = make('sqlite://', {
    batchRows: 100,
    prefetchBatches: 2,
    poolSize: 0,
    idleTimeoutMs: 10,
    intMode: 'bigint',
    rowMode: 'array',
    busyTimeoutMs: 100,
    readonly: false,
    fileMustExist: false,
    setup: pathToFileURL(join(dir, 'none.mjs')),
    native: 'off',
    logger: () => {},
  })
  assert.ok(engine instanceof Engine)
})

test('readonly: writes fail with SQLITE_READONLY, reads work', async () => {
  const path = tempDbPath('ro.db')
  const seed = new Database(path)
  seed.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
  seed.close()
  const engine = make(`sqlite:///${path}`, { readonly: true })
  assert.equal(await engine.scalar('SELECT x FROM t'), 1)
  await assert.rejects(engine.execute('INSERT INTO t VALUES (2)'), (error: unknown) => {
    assert.ok(error instanceof DatabaseError)
    assert.equal(error.code, 'SQLITE_READONLY')
    return true
  })
  const conn = await engine.connect()
  await assert.rejects(conn.execute('DELETE FROM t'), DatabaseError)
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 1)
  await conn.close()
})

test('fileMustExist: a missing file fails the call (and creates nothing)', async () => {
  const path = tempDbPath('missing.db')
  const engine = make(`sqlite:///${path}`, { fileMustExist: true })
  await assert.rejects(engine.scalar('SELECT 1'))
  await assert.rejects(engine.connect())
  assert.equal(existsSync(path), false)
  // And an existing file opens.
  const present = tempDbPath('present.db')
  new Database(present).close()
  const ok = make(`sqlite:///${present}`, { fileMustExist: true })
  assert.equal(await ok.scalar('SELECT 1'), 1)
})

test("engine-wide intMode: 'bigint' and rowMode: 'array' apply to every call", async () => {
  const engine = make('sqlite://', { intMode: 'bigint', rowMode: 'array' })
  assert.deepEqual(await (await engine.execute('SELECT 1, 2.5, ?', [2n ** 62n])).fetchall(), [
    [1n, 2.5, 2n ** 62n],
  ])
  assert.equal(await engine.scalar('SELECT 7'), 7n)
  const conn = await engine.connect()
  assert.deepEqual(await (await conn.execute('SELECT 1 AS a')).fetchall(), [[1n]])
  await conn.close()
})

test('batchRows and prefetchBatches shape the stream', async () => {
  const engine = make('sqlite://', { batchRows: 4, prefetchBatches: 1 })
  const result = await engine.execute(
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10) SELECT x FROM c',
  )
  const sizes: number[] = []
  for await (const batch of result.batches()) sizes.push(batch.numRows)
  assert.deepEqual(sizes, [4, 4, 2])
})

test('busyTimeoutMs: a writer waits for a lock, then fails with SQLITE_BUSY', async () => {
  const path = tempDbPath('busy.db')
  const engine = make(`sqlite:///${path}`, { busyTimeoutMs: 200 })
  await engine.exec('CREATE TABLE t (x)')
  const holder = await engine.connect()
  await holder.exec('BEGIN IMMEDIATE')
  const started = Date.now()
  await assert.rejects(engine.execute('INSERT INTO t VALUES (1)'), (error: unknown) => {
    assert.ok(error instanceof DatabaseError)
    assert.match(error.code, /^SQLITE_BUSY/)
    return true
  })
  // It did wait (the timeout is a lower bound, not a budget).
  assert.ok(Date.now() - started >= 150, `gave up after ${Date.now() - started} ms`)
  await holder.exec('ROLLBACK')
  await engine.execute('INSERT INTO t VALUES (1)')
  assert.equal(await holder.scalar('SELECT count(*) FROM t'), 1)
  await holder.close()
})

test('poolSize and idleTimeoutMs: closed connections reuse a worker, until it idles out', async () => {
  const threadModule = writeModule(
    "export const threadId = () => import('node:worker_threads').then((w) => w.threadId)",
  )
  const threadOf = async (engine: Engine): Promise<unknown> => {
    const conn = await engine.connect()
    const id = await conn.runInWorker(threadModule, 'threadId')
    await conn.close()
    return id
  }
  const pooled = make('sqlite://', { poolSize: 1, idleTimeoutMs: 60_000 })
  const first = await threadOf(pooled)
  assert.equal(await threadOf(pooled), first)
  assert.equal(await threadOf(pooled), first)

  const unpooled = make('sqlite://', { poolSize: 0 })
  assert.notEqual(await threadOf(unpooled), await threadOf(unpooled))

  const shortLived = make('sqlite://', { poolSize: 1, idleTimeoutMs: 20 })
  const before = await threadOf(shortLived)
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.notEqual(await threadOf(shortLived), before)
})
