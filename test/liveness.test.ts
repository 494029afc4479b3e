/**
 * Process liveness, in child processes: an idle engine never keeps the process alive
 * (so a script that forgets `dispose()` still exits by itself), and a pending call always does
 * (Node 20's `Atomics.waitAsync` alone would let the process exit with the answer unprinted).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runChild, SLOW_SCALAR_SQL, tempDbPath } from './helpers.js'

/** About a second of work in SQLite before one row comes back. */
const ONE_SECOND_SQL = SLOW_SCALAR_SQL.replace('2000000', '6000000')

/** Generous: an exiting child takes well under a second; a hung one is killed at this point. */
const HANG_MS = 20_000

const slowSum = (n: number): number => (n * (n + 1)) / 2

test('an un-disposed engine, idle after a query, lets the process exit by itself', async () => {
  const outcome = await runChild(
    `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine(${JSON.stringify(`sqlite:///${tempDbPath()}`)}, { native: process.env.SQLAIO_NATIVE ?? 'auto' })
    console.log(await engine.scalar('SELECT 40 + 2'))
    `,
    HANG_MS,
  )
  assert.equal(outcome.timedOut, false, 'the process did not exit by itself')
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.equal(outcome.stdout.trim(), '42')
})

test('idle connections (open, closed into the pool) and an abandoned result do not keep it alive', async () => {
  const outcome = await runChild(
    `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine('sqlite://', { native: process.env.SQLAIO_NATIVE ?? 'auto', batchRows: 10, idleTimeoutMs: 600000 })
    const open = await engine.connect()
    console.log(await open.scalar('SELECT 1'))
    const pooled = await engine.connect()
    console.log(await pooled.scalar('SELECT 2'))
    await pooled.close()
    // A result with many rows left, neither read nor closed.
    const abandoned = await open.execute(
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT x FROM c',
    )
    console.log((await abandoned.fetchone()).x)
    `,
    HANG_MS,
  )
  assert.equal(outcome.timedOut, false, 'the process did not exit by itself')
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.deepEqual(outcome.stdout.trim().split('\n'), ['1', '2', '1'])
})

test('an engine idle after a failed call and an aborted call lets the process exit', async () => {
  const outcome = await runChild(
    `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine('sqlite://', { native: process.env.SQLAIO_NATIVE ?? 'auto' })
    const conn = await engine.connect()
    await engine.execute('SELEC 1').catch((e) => console.log(e.constructor.name))
    await conn.execute('SELECT ?', [new Date()]).catch((e) => console.log(e.constructor.name))
    const controller = new AbortController()
    const slow = conn.scalar(${JSON.stringify(SLOW_SCALAR_SQL)}, [], { signal: controller.signal })
    controller.abort()
    await slow.catch((e) => console.log(e.constructor.name))
    `,
    HANG_MS,
  )
  assert.equal(outcome.timedOut, false, 'the process did not exit by itself')
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.deepEqual(outcome.stdout.trim().split('\n'), ['DatabaseError', 'TypeError', 'AbortError'])
})

test('a process awaiting a slow result stays alive until it arrives (top-level await)', async () => {
  const outcome = await runChild(
    `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine('sqlite://', { native: process.env.SQLAIO_NATIVE ?? 'auto' })
    const value = await engine.scalar(${JSON.stringify(ONE_SECOND_SQL)})
    console.log(String(value))
    `,
    HANG_MS,
  )
  assert.equal(outcome.timedOut, false)
  // Exit code 13 would mean "unsettled top-level await": the process exited while waiting.
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.equal(outcome.stdout.trim(), String(slowSum(6_000_000)))
})

test('a process with only a pending promise callback stays alive until it prints', async () => {
  const outcome = await runChild(
    `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine('sqlite://', { native: process.env.SQLAIO_NATIVE ?? 'auto' })
    engine.connect().then(async (conn) => {
      const value = await conn.scalar(${JSON.stringify(ONE_SECOND_SQL)})
      console.log('answer ' + String(value))
    })
    `,
    HANG_MS,
  )
  assert.equal(outcome.timedOut, false)
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.equal(outcome.stdout.trim(), `answer ${slowSum(6_000_000)}`)
})

test('a process reading a long stream stays alive to the last row', async () => {
  const n = 300_000
  const outcome = await runChild(
    `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine('sqlite://', {
      native: process.env.SQLAIO_NATIVE ?? 'auto',
      batchRows: 1000,
      prefetchBatches: 2,
    })
    engine
      .execute('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT x FROM c')
      .then(async (result) => {
        let count = 0
        for await (const row of result) {
          count++
          // A slow consumer: the worker waits for credit now and then.
          if (count % 50000 === 0) await new Promise((resolve) => setImmediate(resolve))
        }
        console.log('rows ' + count)
      })
    `,
    HANG_MS,
  )
  assert.equal(outcome.timedOut, false)
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.equal(outcome.stdout.trim(), `rows ${n}`)
})

test('a process waiting in a transaction across awaits stays alive, then exits', async () => {
  const outcome = await runChild(
    `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine('sqlite://', { native: process.env.SQLAIO_NATIVE ?? 'auto' })
    await engine.exec('CREATE TABLE t (x)')
    const total = await engine.transaction(async (conn) => {
      await conn.execute('INSERT INTO t VALUES (1)')
      await conn.scalar(${JSON.stringify(SLOW_SCALAR_SQL)})
      await conn.execute('INSERT INTO t VALUES (2)')
      return conn.scalar('SELECT sum(x) FROM t')
    })
    console.log('total ' + total)
    `,
    HANG_MS,
  )
  assert.equal(outcome.timedOut, false)
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.equal(outcome.stdout.trim(), 'total 3')
})
