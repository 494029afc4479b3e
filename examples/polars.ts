/**
 * A sqlaio result handed to nodejs-polars through Arrow IPC, without a row-by-row copy:
 * `toIPC()` serialises the record batches column by column into one buffer (the Arrow IPC stream
 * format) and `pl.readIPCStream` reads that buffer into a DataFrame. Then a computed column, a
 * group-by with a count, a mean and a sum, and a Vega-Lite bar chart spec of the revenue per
 * product (a JSON file any Vega-Lite viewer renders).
 *
 * Run: `npm run build && node dist/examples/polars.js [out-dir]`.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import pl from 'nodejs-polars'
import { createEngine, type Engine } from '../src/index.js'
import { createSales } from './sales-data.js'

/** One row of the aggregate: per product, the orders, the mean unit price and the revenue. */
export interface ProductSummary {
  product: string
  orders: number
  meanPrice: number
  revenue: number
}

/** The `sales` table as a Polars DataFrame, read from the result's Arrow IPC bytes. */
export async function salesFrame(engine: Engine): Promise<pl.DataFrame> {
  const result = await engine.execute('SELECT region, product, qty, price FROM sales')
  const bytes = await result.toIPC() // the Arrow IPC stream format
  return pl.readIPCStream(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
}

/** Orders, mean unit price and revenue (the sum of qty × price) per product, ordered by product. */
export async function revenueByProduct(engine: Engine): Promise<ProductSummary[]> {
  const sales = await salesFrame(engine)
  const summary = sales
    .withColumns(pl.col('qty').mul(pl.col('price')).alias('revenue'))
    .groupBy('product')
    .agg(
      pl.len().alias('orders'),
      pl.col('price').mean().alias('meanPrice'),
      pl.col('revenue').sum().alias('revenue'),
    )
    .sort('product')
  return summary.toRecords() as unknown as ProductSummary[]
}

/** A Vega-Lite spec of a bar chart of the revenue per product, with the data inline. */
export function revenueChartSpec(summary: readonly ProductSummary[]): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Revenue by product',
    data: { values: summary.map(({ product, revenue }) => ({ product, revenue })) },
    mark: 'bar',
    encoding: {
      x: { field: 'product', type: 'nominal', sort: null },
      y: { field: 'revenue', type: 'quantitative' },
    },
  }
}

async function main(): Promise<void> {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url))
  const engine = createEngine('sqlite://')
  try {
    await createSales(engine, 200_000)
    const started = performance.now()
    const summary = await revenueByProduct(engine)
    const ms = performance.now() - started
    console.table(summary)
    console.log(`query, hand-off to Polars and group-by of 200,000 rows: ${ms.toFixed(0)} ms`)
    const path = join(outDir, 'revenue-by-product.vl.json')
    writeFileSync(path, `${JSON.stringify(revenueChartSpec(summary), null, 2)}\n`)
    console.log(`chart (Vega-Lite): ${path}`)
  } finally {
    await engine.dispose()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
