/**
 * The dataframe examples (`examples/arquero.ts`, `examples/polars.ts`): a result handed to Arquero
 * (`fromArrow` over the result's Arrow columns) and to nodejs-polars (from Arrow IPC bytes), each
 * aggregated, and the aggregates checked against the same GROUP BY computed by SQLite itself
 * (better-sqlite3 on the same database file, outside sqlaio). Results span many record batches.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import Database from 'better-sqlite3'
import pl from 'nodejs-polars'
import { regionChart, salesByRegion, salesTable } from '../examples/arquero.js'
import { revenueByProduct, revenueChartSpec, salesFrame } from '../examples/polars.js'
import { createSales, PRODUCTS, REGIONS } from '../examples/sales-data.js'
import { createEngine, type Engine } from '../src/index.js'
import { TEST_NATIVE, tempDbPath } from './helpers.js'

const ROWS = 20_000
/** Small batches, so every result below is many batches long. */
const BATCH_ROWS = 1_000

/** An engine over a fresh file holding the `sales` table, and that file's path. */
async function salesEngine(): Promise<{ engine: Engine; path: string }> {
  const path = tempDbPath('sales.db')
  const engine = createEngine(`sqlite:///${path}`, { batchRows: BATCH_ROWS, native: TEST_NATIVE })
  after(() => engine.dispose())
  await createSales(engine, ROWS)
  return { engine, path }
}

/** Runs `sql` with better-sqlite3 on the database file, independently of sqlaio. */
function sqlite<T>(path: string, sql: string): T[] {
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare(sql).all() as T[]
  } finally {
    db.close()
  }
}

/** Equal within a relative tolerance: the engines add the same floats in different orders. */
function assertClose(actual: number, expected: number, what: string): void {
  const scale = Math.max(1, Math.abs(expected))
  assert.ok(Math.abs(actual - expected) <= 1e-9 * scale, `${what}: ${actual} ≠ ${expected}`)
}

test('Arquero reads the result in place: its columns are the Arrow batches in shared memory', async () => {
  const { engine } = await salesEngine()
  try {
    const sales = await salesTable(engine)
    assert.equal(sales.numRows(), ROWS)
    assert.deepEqual(sales.columnNames(), ['region', 'product', 'qty', 'price'])
    for (const name of sales.columnNames()) {
      const column = sales.column(name) as unknown as {
        data: { values: ArrayLike<unknown> & ArrayBufferView }[]
      }
      assert.equal(column.data.length, ROWS / BATCH_ROWS, `${name}: one chunk per record batch`)
      for (const chunk of column.data) {
        assert.ok(chunk.values.buffer instanceof SharedArrayBuffer, `${name}: backed by a SharedArrayBuffer`)
      }
    }
  } finally {
    await engine.dispose()
  }
})

test('Arquero: the group-by per region equals SQLite GROUP BY', async () => {
  const { engine, path } = await salesEngine()
  try {
    const summary = await salesByRegion(engine)
    const expected = sqlite<{ region: string; orders: number; meanPrice: number; units: number }>(
      path,
      'SELECT region, count(*) AS orders, avg(price) AS meanPrice, sum(qty) AS units FROM sales GROUP BY region ORDER BY region',
    )
    assert.deepEqual(
      summary.map((s) => s.region),
      [...REGIONS],
    )
    assert.equal(summary.length, expected.length)
    for (const [i, want] of expected.entries()) {
      const got = summary[i]!
      assert.equal(got.region, want.region)
      assert.equal(got.orders, want.orders, `${want.region}: orders`)
      assert.equal(got.units, BigInt(want.units), `${want.region}: units (exact, as bigint)`)
      assertClose(got.meanPrice, want.meanPrice, `${want.region}: mean price`)
    }
    // The groups really differ, so a mix-up between them would show.
    assert.equal(new Set(expected.map((e) => e.units)).size, expected.length)

    const svg = regionChart(summary)
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    const widths = [...svg.matchAll(/<rect [^>]*width="(\d+)"/g)].map((m) => Number(m[1]))
    assert.equal(widths.length, REGIONS.length, 'one bar per region')
    const maxUnits = Math.max(...summary.map((s) => Number(s.units)))
    for (const [i, s] of summary.entries()) {
      assert.ok(Math.abs(widths[i]! - (Number(s.units) / maxUnits) * Math.max(...widths)) <= 1, s.region)
    }
  } finally {
    await engine.dispose()
  }
})

test('nodejs-polars reads the result from Arrow IPC with its column types', async () => {
  const { engine, path } = await salesEngine()
  try {
    const frame = await salesFrame(engine)
    assert.equal(frame.height, ROWS)
    assert.deepEqual(frame.columns, ['region', 'product', 'qty', 'price'])
    assert.deepEqual(
      frame.dtypes.map((t) => String(t)),
      [pl.String, pl.String, pl.Int64, pl.Float64].map((t) => String(t)),
    )
    const direct = sqlite<{ id: number; region: string; qty: number; price: number }>(
      path,
      'SELECT id, region, qty, price FROM sales ORDER BY id',
    )
    // Row order and values survive the hand-off (spot checks across batches).
    for (const i of [0, BATCH_ROWS - 1, BATCH_ROWS, ROWS - 1]) {
      const row = frame.row(i)
      assert.deepEqual(
        [row[0], Number(row[2]), row[3]],
        [direct[i]!.region, direct[i]!.qty, direct[i]!.price],
      )
    }
  } finally {
    await engine.dispose()
  }
})

test('nodejs-polars: the group-by per product equals SQLite GROUP BY', async () => {
  const { engine, path } = await salesEngine()
  try {
    const summary = await revenueByProduct(engine)
    const expected = sqlite<{ product: string; orders: number; meanPrice: number; revenue: number }>(
      path,
      'SELECT product, count(*) AS orders, avg(price) AS meanPrice, sum(qty * price) AS revenue FROM sales GROUP BY product ORDER BY product',
    )
    assert.deepEqual(
      summary.map((s) => s.product),
      [...PRODUCTS],
    )
    for (const [i, want] of expected.entries()) {
      const got = summary[i]!
      assert.equal(got.product, want.product)
      assert.equal(Number(got.orders), want.orders, `${want.product}: orders`)
      assertClose(got.meanPrice, want.meanPrice, `${want.product}: mean price`)
      assertClose(got.revenue, want.revenue, `${want.product}: revenue`)
    }
    assert.equal(new Set(expected.map((e) => Math.round(e.revenue))).size, expected.length)

    const spec = revenueChartSpec(summary) as { data: { values: { product: string; revenue: number }[] } }
    assert.deepEqual(
      spec.data.values.map((v) => v.product),
      [...PRODUCTS],
    )
    assert.deepEqual(
      spec.data.values.map((v) => v.revenue),
      summary.map((s) => s.revenue),
    )
  } finally {
    await engine.dispose()
  }
})
