/**
 * Runs one case in a fresh child process (bench/runner.ts), with gc exposed so that runs start
 * from a collected heap. Shared by `npm run bench`, `bench:kysely` and `bench:pg`.
 */
import { fork } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import type { CasePlan } from './cases.js'
import type { CaseResult, RunnerReply } from './result.js'

export function runCase(casePlan: CasePlan): Promise<RunnerReply> {
  return new Promise((resolve) => {
    const child = fork(new URL('./runner.js', import.meta.url), [JSON.stringify(casePlan)], {
      execArgv: ['--expose-gc'],
    })
    let reply: RunnerReply | null = null
    child.on('message', (message) => (reply = message as RunnerReply))
    child.on('exit', (code) => resolve(reply ?? { error: `runner exited with code ${code} without a reply` }))
  })
}

/** Runs `plans` one after another; a case that fails is reported and makes the exit code 1. */
export async function runCases(plans: readonly CasePlan[]): Promise<CaseResult[]> {
  const results: CaseResult[] = []
  for (const plan of plans) {
    const reply = await runCase(plan)
    if ('error' in reply) {
      console.error(`${plan.id}: FAILED\n${reply.error}`)
      process.exitCode = 1
      continue
    }
    results.push(reply.result)
  }
  return results
}

/**
 * The machine a run was made on, for a report's heading: Node, the CPUs, `extra`, and the load
 * average from `loadAtStart` to now (on a busy machine every figure is noisier).
 */
export function describeMachine(loadAtStart: number, extra?: string): string {
  const cpu = cpus()
  const load = `load average ${loadAtStart.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`
  const parts = [`Node ${process.version}`, `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}`, extra, load]
  return parts.filter(Boolean).join(', ')
}
