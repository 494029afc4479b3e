/**
 * The data the dataframe examples share: a `sales` table of generated orders (region, product,
 * quantity, unit price), made inside SQLite by one INSERT … SELECT, so it is the same on every run.
 */
import type { Engine } from '../src/index.js'

/** The four regions and five products the generated orders are spread over. */
export const REGIONS = ['east', 'north', 'south', 'west'] as const
export const PRODUCTS = ['anchor', 'buoy', 'cleat', 'davit', 'ensign'] as const

/**
 * Creates `sales(id, region, product, qty, price)` and fills it with `rows` orders (quantities
 * differ by region, prices by product, so the aggregates differ from group to group). Every column
 * holds one storage class (TEXT, INTEGER or REAL, never NULL), so each becomes one plain Arrow
 * type (Utf8, Int64, Float64) that Arquero and Polars both read.
 */
export async function createSales(engine: Engine, rows: number): Promise<void> {
  const pick = (values: readonly string[], expr: string): string =>
    `CASE ${expr} ${values.map((v, i) => `WHEN ${i} THEN '${v}'`).join(' ')} END`
  await engine.exec(`
    CREATE TABLE sales (
      id INTEGER PRIMARY KEY,
      region TEXT NOT NULL,
      product TEXT NOT NULL,
      qty INTEGER NOT NULL,
      price REAL NOT NULL
    );
    INSERT INTO sales (region, product, qty, price)
    WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${Math.trunc(rows)})
    SELECT ${pick(REGIONS, `x % ${REGIONS.length}`)},
           ${pick(PRODUCTS, `(x * 7 / 3) % ${PRODUCTS.length}`)},
           1 + (x * 13) % (3 + 2 * (x % ${REGIONS.length})),
           round(5 * (1 + (x * 7 / 3) % ${PRODUCTS.length}) + ((x * 7919) % 10007) / 1000.0, 2)
    FROM c;
  `)
}
