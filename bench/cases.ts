/**
 * The cases a bench run is made of. Each case runs in its own child process; `quick` trims
 * rounds, sizes and contenders so that `npm run bench:quick` stays under three minutes.
 */
import type { InsertCall } from './workloads/insert.js'

export type CaseSpec =
  | { kind: 'scan'; rows: number }
  | { kind: 'latency'; query: 'select1' | 'point'; rows: number; calls: number }
  | { kind: 'concurrent'; rows: number; connections: number }
  | { kind: 'concurrent-point'; rows: number; connections: number; calls: number }
  | { kind: 'insert'; rows: number; calls: InsertCall[] }
  | { kind: 'stream'; rows: number; copies: number }
  | { kind: 'kysely-scan'; rows: number }
  | { kind: 'kysely-point'; rows: number; calls: number }
  | { kind: 'pg-scan'; rows: number }
  | { kind: 'pg-select1'; calls: number }
  /** `clients` concurrent callers making `calls` calls each (`rows`: the reference table's). */
  | { kind: 'pg-clients'; query: 'select1' | 'point'; clients: number; calls: number; rows: number }

export interface CasePlan {
  id: string
  title: string
  spec: CaseSpec
  warmup: number
  rounds: number
  /** Contender names to run (all of the workload's when absent). */
  only?: string[]
}

/** sqlaio's two headline reads against sync `.all()`: the quick 1M comparison. */
const HEADLINE = [
  'sqlaio toArrow()',
  'sqlaio fetchall()',
  'sqlaio native toArrow()',
  'sqlaio native fetchall()',
  'better-sqlite3 .all()',
]

/** sqlaio against the run-in-executor baseline, for the quick concurrency cases. */
const AGAINST_EXECUTOR = [...HEADLINE.filter((name) => name.startsWith('sqlaio')), 'worker + postMessage']

/** sqlaio's connections against the two pools, for the quick point lookups on 16 connections. */
const AGAINST_POOLS = ['sqlaio connections', 'sqlaio native connections', 'worker + postMessage', 'piscina']

const K = 1000
const M = 1000 * K

function scan(rows: number, warmup: number, rounds: number, only?: string[]): CasePlan {
  const label = rows >= M ? `${rows / M}M` : `${rows / K}k`
  return {
    id: `scan-${label}`,
    title: `Full scan, ${label} rows`,
    spec: { kind: 'scan', rows },
    warmup,
    rounds,
    only,
  }
}

function latency(query: 'select1' | 'point', calls: number, rounds: number): CasePlan {
  return {
    id: `latency-${query}`,
    title: query === 'select1' ? '`SELECT 1` round trip' : 'Point lookup by primary key (100k rows)',
    spec: { kind: 'latency', query, rows: 100 * K, calls },
    warmup: 1,
    rounds,
  }
}

function concurrent(connections: number, rows: number, rounds: number, only?: string[]): CasePlan {
  return {
    id: `concurrent-${connections}`,
    title: `${connections} connections scanning ${rows / K}k rows each, concurrently`,
    spec: { kind: 'concurrent', rows, connections },
    warmup: 1,
    rounds,
    only,
  }
}

/** `calls` point lookups in all, by 16 clients at once, each on its own connection or thread. */
function concurrentPoint(calls: number, rounds: number, only?: string[]): CasePlan {
  return {
    id: 'concurrent-point-16',
    title: 'Point lookups by primary key on 16 connections at once (100k rows)',
    spec: { kind: 'concurrent-point', rows: 100 * K, connections: 16, calls },
    warmup: 1,
    rounds,
    only,
  }
}

const insert = (rounds: number): CasePlan => ({
  id: 'insert-100k',
  title: '100k inserts in one transaction',
  spec: { kind: 'insert', rows: 100 * K, calls: ['executeMany', 'executeMany(Arrow Table)'] },
  warmup: 1,
  rounds,
})

/**
 * `insertArrow` of 1M rows; a run is long enough to need no warm-up. Full runs only: building the
 * rows again in each process (the case's, and each contender's alone) would add about a minute.
 */
const insertArrow = (rounds: number): CasePlan => ({
  id: 'insert-arrow-1M',
  title: '`insertArrow` of 1M rows (an Arrow Table) in one transaction',
  spec: { kind: 'insert', rows: M, calls: ['insertArrow()'] },
  warmup: 0,
  rounds,
})

export function plan(quick: boolean): CasePlan[] {
  if (quick) {
    return [
      scan(K, 10, 5),
      scan(100 * K, 1, 2),
      // A 1M-row run is long enough to warm itself up; two rounds still give a min–max.
      scan(M, 0, 2, HEADLINE),
      latency('select1', 1000, 3),
      latency('point', 1000, 3),
      concurrent(2, 100 * K, 2, AGAINST_EXECUTOR),
      concurrent(4, 100 * K, 2, AGAINST_EXECUTOR),
      concurrentPoint(8000, 3, AGAINST_POOLS),
      insert(3),
    ]
  }
  return [
    scan(K, 20, 15),
    scan(100 * K, 2, 5),
    scan(M, 0, 3),
    latency('select1', 5000, 7),
    latency('point', 5000, 7),
    concurrent(2, 100 * K, 5),
    concurrent(4, 100 * K, 5),
    concurrentPoint(32_000, 5),
    insert(5),
    insertArrow(3),
    {
      id: 'stream-10M',
      title: 'Iterating 10M rows (the 1M reference rows ×10)',
      spec: { kind: 'stream', rows: M, copies: 10 },
      // One timed round: 10M rows take minutes, and the figure that matters here (peak RSS)
      // comes from the isolated run anyway.
      warmup: 0,
      rounds: 1,
    },
  ]
}

/** `npm run bench:kysely`: Kysely's query builder over sqlaio's dialect and two others. */
export function kyselyPlan(quick: boolean): CasePlan[] {
  const rounds = quick ? 1 : 3
  return [
    {
      id: 'kysely-scan-100k',
      title: 'Kysely select of 100k rows',
      spec: { kind: 'kysely-scan', rows: 100 * K },
      warmup: 1,
      rounds,
    },
    {
      id: 'kysely-point',
      title: 'Kysely point lookups by primary key (100k rows)',
      spec: { kind: 'kysely-point', rows: 100 * K, calls: quick ? 500 : 2000 },
      warmup: 1,
      rounds,
    },
  ]
}

/**
 * `npm run bench:pg`: the PostgreSQL reference scan, the `SELECT 1` round trip, and 16
 * concurrent callers over several connection counts.
 */
export function pgPlan(quick: boolean): CasePlan[] {
  const clients = (query: 'select1' | 'point', title: string): CasePlan => ({
    id: `pg-clients-${query}`,
    title: `PostgreSQL: 16 concurrent callers, ${title}`,
    spec: { kind: 'pg-clients', query, clients: 16, calls: quick ? 200 : 500, rows: M },
    warmup: 1,
    rounds: quick ? 1 : 3,
  })
  return [
    {
      id: 'pg-scan-1M',
      title: 'PostgreSQL: full scan, 1M rows',
      spec: { kind: 'pg-scan', rows: M },
      warmup: 0,
      rounds: quick ? 1 : 3,
    },
    {
      id: 'pg-select1',
      title: 'PostgreSQL: `SELECT 1` round trip',
      spec: { kind: 'pg-select1', calls: quick ? 1000 : 3000 },
      warmup: 1,
      rounds: quick ? 2 : 5,
    },
    clients('select1', '`SELECT 1`'),
    clients('point', 'point lookups by primary key'),
  ]
}
