/**
 * Worker fixture and SQL generators for the reliability tests and the stress runner. No test
 * framework imports here: the stress runner also runs as a plain script (`npm run stress`).
 */

/**
 * A module for `setup` and `runInWorker` at once (the worker imports it once, so both share its
 * state): `tick(x)` counts the rows SQLite produced, `nap(x, ms)` makes each row slow, and the
 * named exports read the counter, write rows, report the worker's transaction state or kill the
 * worker.
 */
export const WORKER_FIXTURE = `
let ticks = 0
const hoard = []
export default function setup(db) {
  db.function('tick', (x) => { ticks++; return x })
  db.function('nap', (x, ms) => {
    ticks++
    const end = performance.now() + Number(ms)
    while (performance.now() < end);
    return x
  })
  db.function('hog', (x) => { hoard.push('h'.repeat(4096) + x, new Array(1024).fill(x)); return x })
}
export function tickCount() { return ticks }
export function resetTicks() { ticks = 0 }
export function inTransaction(db) { return db.inTransaction }
export function insert(db, table, value) {
  db.prepare('INSERT INTO ' + table + ' VALUES (?)').run(value)
  return value
}
export function busy(db, ms) {
  const end = performance.now() + ms
  while (performance.now() < end);
  return 'done'
}
export function exit(db, code) { process.exit(code) }
export function exhaustHeap() {
  for (;;) hoard.push(new Array(100000).fill(hoard.length))
}
export function threadId() { return import('node:worker_threads').then((w) => w.threadId) }
`

/** A recursive CTE yielding 1..n as column `x`. */
export function rangeSql(n: number, expr = 'x'): string {
  return `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT ${expr} AS x FROM c`
}

/** One row after counting to n inside SQLite (about 0.25-0.45 µs per step here). */
export function slowScalarSql(n: number): string {
  return `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT sum(x) AS s FROM c`
}

/** Whether an engine steps statements natively (checked without relying on the getter existing). */
export function nativeOn(engine: object): boolean {
  return 'nativeEnabled' in engine && (engine as { nativeEnabled: unknown }).nativeEnabled === true
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
