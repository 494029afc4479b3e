/**
 * Reduces a case's raw runs to what the reports show: per contender, the median and min–max of
 * each figure over the rounds, and its ratios to the baselines, taken round by round.
 */
import type { CaseResult, RunRecord } from '../result.js'
import { roundRatios, type Summary, summarize } from '../stats.js'

export interface ContenderSummary {
  name: string
  wallMs: Summary
  /** Ratio of wall time to each baseline of the case (absent for a baseline against itself). */
  ratios: Record<string, Summary>
  busyMs: Summary
  stallMs: Summary
  eldP99Ms: Summary
  rowsPerSec: Summary
  p50Us?: Summary
  p99Us?: Summary
  /** Peak RSS above idle of a cold run alone in a fresh process, MB. */
  peakRssMb?: number
}

export interface CaseSummary {
  id: string
  title: string
  kind: string
  warmup: number
  rounds: number
  baselines: string[]
  contenders: ContenderSummary[]
}

function figure(runs: RunRecord[], pick: (run: RunRecord) => number | undefined): Summary | undefined {
  const values = runs.map(pick).filter((value): value is number => value !== undefined)
  return values.length === runs.length && values.length > 0 ? summarize(values) : undefined
}

export function summarizeCase(result: CaseResult): CaseSummary {
  const byName = new Map(result.contenders.map((contender) => [contender.name, contender]))
  const baselines = result.baselines.filter((name) => byName.has(name))
  const contenders = result.contenders.map((contender): ContenderSummary => {
    const runs = contender.runs
    const wall = runs.map((run) => run.wallMs)
    const ratios: Record<string, Summary> = {}
    for (const baseline of baselines) {
      if (baseline === contender.name) continue
      ratios[baseline] = roundRatios(
        wall,
        byName.get(baseline)!.runs.map((run) => run.wallMs),
      )
    }
    return {
      name: contender.name,
      wallMs: summarize(wall),
      ratios,
      busyMs: summarize(runs.map((run) => run.busyMs)),
      stallMs: summarize(runs.map((run) => run.stallMs)),
      eldP99Ms: summarize(runs.map((run) => run.eldP99Ms)),
      rowsPerSec: summarize(runs.map((run) => result.rowsPerRun / (run.wallMs / 1000))),
      p50Us: figure(runs, (run) => run.p50Us),
      p99Us: figure(runs, (run) => run.p99Us),
      peakRssMb: contender.isolated?.peakRssMb,
    }
  })
  return {
    id: result.plan.id,
    title: result.plan.title,
    kind: result.plan.spec.kind,
    warmup: result.plan.warmup,
    rounds: result.plan.rounds,
    baselines,
    contenders,
  }
}
