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
  /** Ratio of median latency to each baseline's, round by round (latency workloads only). */
  p50Ratios: Record<string, Summary>
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
    const p50Ratios: Record<string, Summary> = {}
    const p50 = runs.map((run) => run.p50Us)
    for (const baseline of baselines) {
      if (baseline === contender.name) continue
      const baseRuns = byName.get(baseline)!.runs
      ratios[baseline] = roundRatios(
        wall,
        baseRuns.map((run) => run.wallMs),
      )
      const baseP50 = baseRuns.map((run) => run.p50Us)
      if (![...p50, ...baseP50].includes(undefined)) {
        p50Ratios[baseline] = roundRatios(p50 as number[], baseP50 as number[])
      }
    }
    return {
      name: contender.name,
      wallMs: summarize(wall),
      ratios,
      p50Ratios,
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
