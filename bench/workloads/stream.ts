/**
 * Streaming far more rows than fit comfortably in memory: the reference rows repeated `copies`
 * times, iterated row by row. What matters here is that peak RSS stays flat.
 */
import { label, openEngine, READS, sqlaioPaths } from '../clients/sqlaio.js'
import { type ContenderEntry, over } from '../contender.js'

/** The reference table repeated `copies` times, with distinct ids. */
export function streamSql(rows: number, copies: number): string {
  return (
    `WITH copies(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM copies WHERE n < ${copies - 1}) ` +
    `SELECT r.id + copies.n * ${rows} AS id, r.a, r.b, r.c, r.d, r.e FROM copies CROSS JOIN ref AS r`
  )
}

export function streamContenders(path: string, sql: string): ContenderEntry[] {
  return sqlaioPaths().flatMap((via) =>
    (['for await', 'batches()'] as const).map((what) =>
      over(
        label(via, what),
        () => openEngine(path, via),
        (engine) => READS[what]!(engine, sql),
        (engine) => engine.dispose(),
      ),
    ),
  )
}
