/**
 * Streaming a large PostgreSQL result in bounded memory: 3M rows read through `batches()`
 * (holding none) and through `for await`, in a child process so that RSS is the stream's alone.
 * Backpressure stops the server at two unread batches; without it the worker would buffer the
 * whole result (hundreds of MB) and the bound would fail. The child collects garbage before each
 * sample: batches are SharedArrayBuffers made by the worker, which do not press the main
 * thread's collector, so without it RSS measures how lazy the collector is, not what is retained.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runChild } from './helpers.js'
import { PG_URL } from './pg-helpers.js'

const ROWS = 3_000_000
const BOUND_MB = 64

const child = (read: 'batches' | 'rows'): string => `
  import { createEngine } from 'SQLAIO'
  const engine = createEngine(${JSON.stringify(PG_URL)}, { intMode: 'number' })
  const result = await engine.execute(
    "SELECT g::int8 AS id, g % 1000 AS a, repeat('x', 40) AS pad FROM generate_series(1, ${ROWS}) g",
  )
  let rows = 0
  let sum = 0
  let base = 0
  let peak = 0
  const sample = () => {
    globalThis.gc()
    const rss = process.memoryUsage.rss()
    if (rows >= 250000 && base === 0) base = rss
    if (base > 0) peak = Math.max(peak, rss)
  }
  if (${JSON.stringify(read)} === 'batches') {
    for await (const batch of result.batches()) {
      rows += batch.numRows
      sum += Number(batch.getChild('id').get(batch.numRows - 1))
      if (rows % 250000 < batch.numRows) sample()
    }
  } else {
    for await (const row of result) {
      rows++
      sum += row.a
      if (rows % 250000 === 0) sample()
    }
  }
  await engine.dispose()
  console.log(JSON.stringify({ rows, sum, growthMb: (peak - base) / 1048576 }))
`

for (const read of ['batches', 'rows'] as const) {
  test(`${read === 'batches' ? 'batches()' : 'for await'} over ${ROWS} rows stays within ${BOUND_MB} MB`, async () => {
    const outcome = await runChild(child(read), 240_000, { NODE_OPTIONS: '--expose-gc' })
    assert.equal(outcome.code, 0, outcome.stderr)
    const { rows, growthMb } = JSON.parse(outcome.stdout.trim().split('\n').at(-1)!) as {
      rows: number
      growthMb: number
    }
    assert.equal(rows, ROWS)
    assert.ok(growthMb <= BOUND_MB, `RSS grew ${growthMb.toFixed(1)} MB after the first 250k rows`)
  })
}
