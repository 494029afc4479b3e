/**
 * Streaming and memory: a 10-million-row result iterated in a child process keeps RSS
 * flat, and closing a result early stops the worker (it does not go on producing rows nobody
 * reads). Backpressure: the worker stays at most `prefetchBatches` batches ahead of the reader.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { countSql, runChild, tempEngine, writeModule } from './helpers.js'

/** A setup module with `tick(x)` (counts the rows the worker produced) and `produced()`. */
function counterSetup(): string {
  return writeModule(`
    let produced = 0
    export default function setup(db) {
      db.function('tick', { deterministic: false }, (x) => { produced++; return x })
      db.function('produced', { deterministic: false }, () => produced)
      db.function('reset_produced', { deterministic: false }, () => { produced = 0; return 0 })
    }
  `)
}

test('iterating 10 million rows keeps RSS flat (child process)', async (t) => {
  const rows = 10_000_000
  const outcome = await runChild(
    `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine('sqlite://', { native: process.env.SQLAIO_NATIVE ?? 'auto' })
    await engine.scalar('SELECT 1')
    const idle = process.memoryUsage().rss
    const started = performance.now()
    const result = await engine.execute(${JSON.stringify(countSql(rows))})
    let n = 0
    let sum = 0
    const samples = []
    for await (const row of result) {
      n++
      sum += row.x
      if (n % 250000 === 0) samples.push(process.memoryUsage().rss)
    }
    const elapsedMs = performance.now() - started
    await engine.dispose()
    console.log(JSON.stringify({ n, sum, idle, samples, elapsedMs }))
    `,
    // Generous: a loaded 2-core machine has taken over 2 minutes for the JS path.
    400_000,
  )
  assert.equal(outcome.timedOut, false, 'the child did not finish in time')
  assert.equal(outcome.code, 0, outcome.stderr)
  const report = JSON.parse(outcome.stdout) as {
    n: number
    sum: number
    idle: number
    samples: number[]
    elapsedMs: number
  }
  assert.equal(report.n, rows)
  assert.equal(report.sum, (rows * (rows + 1)) / 2)
  assert.equal(report.samples.length, rows / 250_000)
  // Warm-up: the first million rows (JIT, buffers, pools). After that, no growth with row count.
  const warm = report.samples[3]!
  const later = report.samples.slice(4)
  const growth = Math.max(...later) - warm
  const MB = 1024 * 1024
  t.diagnostic(
    `10M rows in ${Math.round(report.elapsedMs)} ms; RSS idle ${Math.round(report.idle / MB)} MB, ` +
      `after warm-up ${Math.round(warm / MB)} MB, peak ${Math.round(Math.max(...report.samples) / MB)} MB, ` +
      `growth after warm-up ${Math.round(growth / MB)} MB`,
  )
  assert.ok(growth < 150 * MB, `RSS grew by ${Math.round(growth / MB)} MB after warm-up`)
  // And the last quarter is no higher than the second quarter plus a margin: no trend.
  const quarter = later.length >> 2
  const secondQuarter = Math.max(...later.slice(quarter, 2 * quarter))
  const lastQuarter = Math.max(...later.slice(3 * quarter))
  assert.ok(
    lastQuarter - secondQuarter < 64 * MB,
    `RSS kept growing: ${Math.round(secondQuarter / MB)} MB → ${Math.round(lastQuarter / MB)} MB`,
  )
})

test('closing a result early stops the worker promptly', async (t) => {
  const engine = tempEngine({ setup: counterSetup(), batchRows: 1000, prefetchBatches: 2 })
  const conn = await engine.connect()
  const sql = `SELECT tick(x) AS x FROM (${countSql(10_000_000)})`
  const result = await conn.execute(sql)
  assert.deepEqual(await result.fetchone(), { x: 1 })
  const closedAt = performance.now()
  result.close()
  const produced = (await conn.scalar('SELECT produced()')) as number
  const answeredMs = performance.now() - closedAt
  t.diagnostic(`after close: ${produced} rows produced, next query answered in ${answeredMs.toFixed(1)} ms`)
  // At most the first batch plus the prefetched ones (and one in the making), not 10 million.
  assert.ok(produced <= 5 * 1000, `the worker produced ${produced} rows for a result closed after one`)
  assert.ok(answeredMs < 2000, `the next query took ${answeredMs} ms (a full scan takes many seconds)`)
  // Nothing more is produced later either.
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(await conn.scalar('SELECT produced()'), produced)
  await conn.close()
})

test('closing a result early on the engine (implicit worker) stops it too', async () => {
  const engine = tempEngine({ setup: counterSetup(), batchRows: 500, prefetchBatches: 1 })
  const result = await engine.execute(`SELECT tick(x) AS x FROM (${countSql(10_000_000)})`)
  assert.equal((await result.fetchmany(10)).length, 10)
  result.close()
  const produced = (await engine.scalar('SELECT produced()')) as number
  assert.ok(produced <= 4 * 500, `the worker produced ${produced} rows`)
})

test('leaving a for await loop early closes the result and stops the worker', async () => {
  const engine = tempEngine({ setup: counterSetup(), batchRows: 1000, prefetchBatches: 2 })
  const conn = await engine.connect()
  const result = await conn.execute(`SELECT tick(x) AS x FROM (${countSql(3_000_000)})`)
  for await (const row of result) {
    assert.deepEqual(row, { x: 1 })
    break
  }
  assert.equal(result.closed, true)
  // The next call must not make the worker produce (and the main thread buffer) the rest.
  const produced = (await conn.scalar('SELECT produced()')) as number
  assert.ok(produced <= 5 * 1000, `the worker produced ${produced} rows after the loop was left`)
  // The same for batches(), and for a loop left by an exception.
  await conn.scalar('SELECT reset_produced()')
  const batches = await conn.execute(`SELECT tick(x) AS x FROM (${countSql(3_000_000)})`)
  for await (const batch of batches.batches()) {
    assert.equal(batch.numRows, 1000)
    break
  }
  assert.equal(batches.closed, true)
  const thrower = await conn.execute(`SELECT tick(x) AS x FROM (${countSql(3_000_000)})`)
  await assert.rejects(async () => {
    for await (const _ of thrower) throw new Error('stop here')
  }, /stop here/)
  assert.equal(thrower.closed, true)
  const after = (await conn.scalar('SELECT produced()')) as number
  assert.ok(after <= 2 * 5 * 1000, `the worker produced ${after} rows after two loops were left`)
  await conn.close()
})

test('an unread result holds the worker at prefetchBatches batches (backpressure)', async () => {
  const batchRows = 100
  const prefetchBatches = 3
  const engine = tempEngine({ setup: counterSetup(), batchRows, prefetchBatches })
  const conn = await engine.connect()
  const sql = `SELECT tick(x) AS x FROM (${countSql(1_000_000)})`

  // Nothing read: give the worker time to run ahead as far as it may, then look.
  const unread = await conn.execute(sql)
  await new Promise((resolve) => setTimeout(resolve, 300))
  unread.close()
  const ahead = (await conn.scalar('SELECT produced()')) as number
  assert.ok(ahead >= batchRows, `only ${ahead} rows produced`)
  assert.ok(ahead <= (prefetchBatches + 1) * batchRows, `the worker ran ${ahead} rows ahead of the reader`)

  // Five batches read: the worker stays within the credit window beyond them.
  await conn.scalar('SELECT reset_produced()')
  const result = await conn.execute(sql)
  for (let i = 1; i <= 5; i++) {
    const batch = await result.fetchmany(batchRows)
    assert.equal(batch.length, batchRows)
    assert.deepEqual(batch[0], { x: (i - 1) * batchRows + 1 })
  }
  await new Promise((resolve) => setTimeout(resolve, 300))
  result.close()
  const produced = (await conn.scalar('SELECT produced()')) as number
  assert.ok(
    produced <= (5 + prefetchBatches + 1) * batchRows,
    `the worker produced ${produced} rows with ${5 * batchRows} read`,
  )
  await conn.close()
})

test('a long result can be read in full through batches() with flat batch sizes', async () => {
  const engine = tempEngine({ batchRows: 10_000 })
  const result = await engine.execute(countSql(200_000))
  let rows = 0
  let batches = 0
  let last = 0
  for await (const batch of result.batches()) {
    batches++
    rows += batch.numRows
    assert.ok(batch.numRows <= 10_000)
    const x = batch.getChild('x')!
    assert.equal(Number(x.get(0)), last + 1)
    last = Number(x.get(batch.numRows - 1))
  }
  assert.equal(rows, 200_000)
  assert.equal(last, 200_000)
  assert.equal(batches, 20)
})

test('other calls on the connection while a result streams: both get their own rows', async () => {
  const engine = tempEngine({ batchRows: 50, prefetchBatches: 2 })
  const conn = await engine.connect()
  await conn.exec('CREATE TABLE seen (x INTEGER)')
  const result = await conn.execute(countSql(1000))
  let expected = 1
  for await (const row of result) {
    assert.deepEqual(row, { x: expected })
    if (expected % 100 === 0) {
      await conn.execute('INSERT INTO seen VALUES (?)', [expected])
      assert.equal(await conn.scalar('SELECT count(*) FROM seen'), expected / 100)
    }
    expected++
  }
  assert.equal(expected, 1001)
  await conn.close()
})
