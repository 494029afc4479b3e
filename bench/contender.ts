/**
 * What a workload hands the runner: contenders that are opened once (outside the timing), run
 * once per round, and closed at the end of the case.
 */

export interface RunOutput {
  /** Rows the run read or wrote; the runner checks every contender against the case's count. */
  rows: number
  /** Per-call latencies in µs, for latency workloads. */
  latenciesUs?: number[]
  /** What the run materialised; kept referenced until peak RSS has been read. */
  retained?: unknown
}

export interface Contender {
  /** Called before each run, outside the timing (for example to recreate a table). */
  before?(): Promise<void> | void
  run(): Promise<RunOutput> | RunOutput
  /** Called after each run, outside the timing (for example to drop what only that run needed). */
  after?(): void
  close(): Promise<void> | void
}

export interface ContenderEntry {
  name: string
  open(): Promise<Contender> | Contender
}

/** A contender over one resource opened once: each run reads through it, `close` releases it. */
export function over<R>(
  name: string,
  open: () => Promise<R> | R,
  run: (resource: R) => Promise<RunOutput> | RunOutput,
  close: (resource: R) => Promise<void> | void,
): ContenderEntry {
  return {
    name,
    async open() {
      const resource = await open()
      return { run: () => run(resource), close: () => close(resource) }
    },
  }
}

/**
 * `items` in the order of round `by`: the order rotates each round, so that drift and the cost of
 * going first or last fall on all alike.
 */
export const rotated = <T>(items: T[], by: number): T[] =>
  items.map((_, i) => items[(i + by) % items.length]!)

/** The output of a run that materialised `rows`, kept referenced for the RSS reading. */
export const held = (rows: unknown[]): RunOutput => ({ rows: rows.length, retained: rows })
