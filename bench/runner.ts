/**
 * Child-process entry: runs one case (argv[2], a CasePlan as JSON) and sends its CaseResult (or
 * its error) to the parent. Contenders are opened once, warmed up, then run round by round in an
 * order that rotates each round.
 */
import type { CasePlan } from './cases.js'
import { type Contender, rotated } from './contender.js'
import { measure } from './monitor.js'
import type { CaseResult, ContenderResult, RunnerReply, RunRecord } from './result.js'
import { percentile } from './stats.js'
import { workload } from './workload.js'

async function main(plan: CasePlan): Promise<CaseResult> {
  const { contenders: entries, rowsPerRun, baselines } = workload(plan.spec)
  const chosen = plan.only ? entries.filter((entry) => plan.only!.includes(entry.name)) : entries

  const opened: { name: string; contender: Contender; result: ContenderResult }[] = []
  for (const entry of chosen) {
    opened.push({ name: entry.name, contender: await entry.open(), result: { name: entry.name, runs: [] } })
  }

  async function runOnce(name: string, contender: Contender): Promise<RunRecord> {
    await contender.before?.()
    const { figures, value } = await measure(() => contender.run())
    contender.after?.()
    if (value.rows !== rowsPerRun) {
      throw new Error(`${plan.id}: ${name} produced ${value.rows} rows, expected ${rowsPerRun}`)
    }
    const latencies = value.latenciesUs
    return latencies
      ? { ...figures, p50Us: percentile(latencies, 50), p99Us: percentile(latencies, 99) }
      : figures
  }

  for (let round = -plan.warmup; round < plan.rounds; round++) {
    for (const { name, contender, result } of rotated(opened, round + plan.warmup)) {
      const record = await runOnce(name, contender)
      if (round >= 0) result.runs.push(record)
    }
  }
  for (const { contender } of opened) await contender.close()
  return { plan, rowsPerRun, baselines, contenders: opened.map((o) => o.result) }
}

// Exit explicitly once the parent has the message: a library that leaks a handle must not hang the bench.
const reply = (message: RunnerReply, code: number) => process.send!(message, () => process.exit(code))
main(JSON.parse(process.argv[2]!) as CasePlan).then(
  (result) => reply({ result }, 0),
  (error: unknown) =>
    reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 1),
)
