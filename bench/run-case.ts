/**
 * Runs one case in a fresh child process (bench/runner.ts), with gc exposed so that runs start
 * from a collected heap. Shared by `npm run bench` and `npm run bench:kysely`.
 */
import { fork } from 'node:child_process'
import type { CasePlan } from './cases.js'
import type { RunnerReply } from './result.js'

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
