/**
 * A sqlaio result handed to Arquero without a row-by-row copy: `toArrow()` gives an apache-arrow
 * Table whose columns are views over the record batches the worker wrote into shared memory, and
 * `aq.fromArrow(table)` builds an Arquero table on those same columns. Then a group-by with a
 * count, a mean and a sum, and a bar chart of the units sold as an SVG file.
 *
 * Run: `npm run build && node dist/examples/arquero.js [out-dir]`.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as aq from 'arquero'
import { createEngine, type Engine } from '../src/index.js'
import { createSales } from './sales-data.js'
import { barChartSvg } from './svg-bars.js'

/** One row of the aggregate: per region, the orders, the mean unit price and the units sold. */
export interface RegionSummary {
  region: string
  orders: number
  meanPrice: number
  /** A sum over an INTEGER column: an Arrow Int64 column, so Arquero sums it as a bigint. */
  units: bigint
}

/** The `sales` table as an Arquero table, backed by the result's Arrow columns (no copy). */
export async function salesTable(engine: Engine): Promise<aq.ColumnTable> {
  const result = await engine.execute('SELECT region, product, qty, price FROM sales')
  const table = await result.toArrow()
  // An apache-arrow Table is accepted as is: Arquero reads its columns in place.
  return aq.fromArrow(table as unknown as Parameters<typeof aq.fromArrow>[0])
}

/** Orders, mean unit price and units sold per region, ordered by region. */
export async function salesByRegion(engine: Engine): Promise<RegionSummary[]> {
  const sales = await salesTable(engine)
  return sales
    .groupby('region')
    .rollup({ orders: aq.op.count(), meanPrice: aq.op.mean('price'), units: aq.op.sum('qty') })
    .orderby('region')
    .objects() as unknown as RegionSummary[]
}

/** An SVG bar chart of the units sold per region. */
export function regionChart(summary: readonly RegionSummary[]): string {
  return barChartSvg(
    'Units sold by region',
    summary.map((s) => ({ label: s.region, value: Number(s.units) })),
  )
}

async function main(): Promise<void> {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url))
  const engine = createEngine('sqlite://')
  try {
    await createSales(engine, 200_000)
    const started = performance.now()
    const summary = await salesByRegion(engine)
    const ms = performance.now() - started
    console.table(summary)
    console.log(`query, hand-off to Arquero and group-by of 200,000 rows: ${ms.toFixed(0)} ms`)
    const path = join(outDir, 'units-by-region.svg')
    writeFileSync(path, regionChart(summary))
    console.log(`chart: ${path}`)
  } finally {
    await engine.dispose()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
