/**
 * The statistics the reports use: medians with their min–max, percentiles, and ratios taken
 * round by round so that drift between rounds cancels out.
 */

export interface Summary {
  median: number
  min: number
  max: number
}

/** The p-th percentile (0–100) by linear interpolation between closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values')
  const sorted = [...values].sort((x, y) => x - y)
  const rank = (p / 100) * (sorted.length - 1)
  const low = Math.floor(rank)
  const high = Math.ceil(rank)
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low)
}

export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

export function summarize(values: readonly number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) }
}

/**
 * `contender[i] / baseline[i]` for each round i, summarised. Both series must come from the same
 * rounds, so a slow round slows both sides of its own ratio.
 */
export function roundRatios(contender: readonly number[], baseline: readonly number[]): Summary {
  if (contender.length !== baseline.length || contender.length === 0) {
    throw new RangeError(`ratio needs equal, non-empty series (${contender.length} vs ${baseline.length})`)
  }
  return summarize(contender.map((value, i) => value / baseline[i]!))
}
