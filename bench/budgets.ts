/**
 * The performance budgets, checked against a run's summaries. A budget whose case or contender did
 * not run (a quick run, no native addon) is reported as not measured, never as met.
 */
import { num, range } from './report/format.js'
import type { CaseSummary, ContenderSummary } from './report/summary.js'
import type { Summary } from './stats.js'

export interface Verdict {
  budget: string
  contender: string
  /** The measured figure as text, or why there is none. */
  figure: string
  met: boolean | null
}

interface Budget {
  budget: string
  caseId: string
  contender: string
  limit: number
  /**
   * The figure (judged by its median over rounds) and its unit, from the contender's summary,
   * and what to say when it has none.
   */
  read: (c: ContenderSummary) => { value: Summary | number | undefined; unit: string; missing?: string }
  /** How the figure is held against the limit (by default it must not exceed it). */
  rule?: Rule
}

/** `strict`: the limit itself fails ("<" rather than "≤"); `atLeast`: the figure must reach it ("≥"). */
export interface Rule {
  strict?: boolean
  atLeast?: boolean
}

/** A figure (judged by its median over rounds) as text, and whether it is within `limit`. */
export function judge(
  value: Summary | number,
  unit: string,
  limit: number,
  rule: Rule = {},
): Pick<Verdict, 'figure' | 'met'> {
  const judged = typeof value === 'number' ? value : value.median
  const figure = typeof value === 'number' ? `${num(value)}${unit}` : range(value, unit)
  const met = rule.atLeast ? judged >= limit : rule.strict ? judged < limit : judged <= limit
  return { figure, met }
}

const SYNC_ALL = 'better-sqlite3 .all()'
const POST = 'worker + postMessage'
const ratio = (baseline: string) => (c: ContenderSummary) => ({
  value: c.ratios[baseline],
  unit: '×',
  missing: `${baseline} not run`,
})
const stall = (c: ContenderSummary) => ({ value: c.stallMs, unit: ' ms' })
/** Throughput against `baseline`'s: the inverse of the wall-time ratio (both did the same work). */
const throughput = (baseline: string) => (c: ContenderSummary) => {
  const wall = c.ratios[baseline]
  return {
    value: wall && { median: 1 / wall.median, min: 1 / wall.max, max: 1 / wall.min },
    unit: '×',
    missing: `${baseline} not run`,
  }
}
const LOOP = 'better-sqlite3 insert loop'

/**
 * Each budget for the JS path, and again for the native path, with the limits of the product
 * contract (the native path's are tighter for toArrow, fetchall and executeMany).
 */
function budgets(): Budget[] {
  const list: Budget[] = []
  for (const prefix of ['sqlaio', 'sqlaio native']) {
    const native = prefix !== 'sqlaio'
    list.push(
      {
        budget: `toArrow() of 1M rows, wall ≤ ${native ? '0.06' : '0.40'} × sync .all()`,
        caseId: 'scan-1M',
        contender: `${prefix} toArrow()`,
        limit: native ? 0.06 : 0.4,
        read: ratio(SYNC_ALL),
      },
      {
        budget: 'toArrow() of 1M rows, longest main-thread stall ≤ 20 ms',
        caseId: 'scan-1M',
        contender: `${prefix} toArrow()`,
        limit: 20,
        read: stall,
      },
      {
        budget: `fetchall() of 1M rows, wall ≤ ${native ? '0.25' : '0.70'} × sync .all()`,
        caseId: 'scan-1M',
        contender: `${prefix} fetchall()`,
        limit: native ? 0.25 : 0.7,
        read: ratio(SYNC_ALL),
      },
      {
        budget: 'fetchall() of 1M rows, wall ≤ 0.35 × worker+postMessage',
        caseId: 'scan-1M',
        contender: `${prefix} fetchall()`,
        limit: 0.35,
        read: ratio(POST),
      },
      {
        // The budgets ask that fetchall() yield between batches; a stall within the 20 ms budget shows it does.
        budget: 'fetchall() of 1M rows yields between batches: longest stall ≤ 20 ms',
        caseId: 'scan-1M',
        contender: `${prefix} fetchall()`,
        limit: 20,
        read: stall,
      },
      {
        budget: '`SELECT 1` round trip on a connection, median ≤ 20 µs',
        caseId: 'latency-select1',
        contender: `${prefix} connection`,
        limit: 20,
        read: (c) => ({ value: c.p50Us, unit: ' µs', missing: 'no latencies recorded' }),
      },
      {
        budget: 'point lookup on a connection, median ≤ 0.5 × worker+postMessage',
        caseId: 'latency-point',
        contender: `${prefix} connection`,
        limit: 0.5,
        read: (c) => ({ value: c.p50Ratios[POST], unit: '×', missing: `${POST} not run` }),
      },
      {
        budget: 'point lookups on 16 connections, throughput ≥ 2 × 16 workers + postMessage',
        caseId: 'concurrent-point-16',
        contender: `${prefix} connections`,
        limit: 2,
        read: throughput(POST),
        rule: { atLeast: true },
      },
      {
        budget: `executeMany() of 100k single-row inserts, wall ≤ ${native ? '1.0' : '1.2'} × better-sqlite3 insert loop`,
        caseId: 'insert-100k',
        contender: `${prefix} executeMany`,
        limit: native ? 1 : 1.2,
        read: ratio(LOOP),
      },
      {
        budget: `executeMany() of 100k rows as an Arrow Table, wall ≤ ${native ? '1.0' : '1.2'} × better-sqlite3 insert loop`,
        caseId: 'insert-100k',
        contender: `${prefix} executeMany(Arrow Table)`,
        limit: native ? 1 : 1.2,
        read: ratio(LOOP),
      },
      {
        budget: 'iterating 10M rows, peak RSS < 150 MB above idle',
        caseId: 'stream-10M',
        contender: `${prefix} for await`,
        limit: 150,
        read: (c) => ({ value: c.peakRssMb, unit: ' MB', missing: 'isolated run failed' }),
        rule: { strict: true },
      },
    )
  }
  list.push({
    budget: 'insertArrow() of 1M rows, wall ≤ 0.60 × better-sqlite3 insert loop',
    caseId: 'insert-arrow-1M',
    contender: 'sqlaio native insertArrow()',
    limit: 0.6,
    read: ratio(LOOP),
  })
  return list
}

export function checkBudgets(cases: CaseSummary[]): Verdict[] {
  return budgets().map(({ budget, caseId, contender, limit, read, rule }) => {
    const found = cases.find((c) => c.id === caseId)
    const summary = found?.contenders.find((c) => c.name === contender)
    if (!found || !summary) {
      const why = found ? 'contender not available' : `case ${caseId} not run`
      return { budget, contender, figure: `not measured (${why})`, met: null }
    }
    const { value, unit, missing } = read(summary)
    if (value === undefined) return { budget, contender, figure: `not measured (${missing})`, met: null }
    return { budget, contender, ...judge(value, unit, limit, rule) }
  })
}
