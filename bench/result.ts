/**
 * The raw results a bench run records, as written to bench/results/<date>.json. Everything the
 * reports show is derived from these.
 */
import type { CasePlan } from './cases.js'
import type { RunFigures } from './monitor.js'

export interface RunRecord extends RunFigures {
  /** Median and 99th percentile of per-call latency, µs (latency workloads only). */
  p50Us?: number
  p99Us?: number
}

export interface ContenderResult {
  name: string
  /**
   * One record per round, in round order (round i of every contender ran in the same pass).
   * Their peakRssMb is not comparable between contenders: see `isolated`.
   */
  runs: RunRecord[]
  /** One cold run alone in a fresh process: the peak RSS figure the reports use. */
  isolated?: RunRecord
}

export interface CaseResult {
  plan: CasePlan
  rowsPerRun: number
  baselines: string[]
  contenders: ContenderResult[]
}

/** What a runner process sends back. */
export type RunnerReply = { result: CaseResult } | { error: string }

/** A case, or one contender's isolated run, that threw instead of finishing. */
export interface Failure {
  caseId: string
  contender?: string
  error: string
}

export interface BenchResult {
  date: string
  command: string
  machine: {
    node: string
    cpu: string
    cores: number
    memoryGiB: number
    sqlaioNative: boolean
    /** 1-minute load average at the start and at the end of the run: how shared the machine was. */
    loadAverage: [number, number]
  }
  cases: CaseResult[]
  failures: Failure[]
}
