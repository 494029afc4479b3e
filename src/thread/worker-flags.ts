/**
 * Which of the process's flags a worker gets.
 *
 * A Worker inherits `process.execArgv` by default, and some flags make it fail to start: a script
 * run with `node --input-type=module -e '…'` would have every worker exit with "--input-type can
 * only be used with string input". Workers keep what a user means for all threads (`--import`,
 * `--require`, `--conditions`, `--experimental-*`, `--enable-source-maps`, …) and lose what only
 * describes how the main script is given or run: its source (`-e`, `-p`, `--input-type`), the
 * test runner (`--test*`), watch mode (`--watch*`), the REPL and the syntax check.
 *
 * A Worker given its flags explicitly also refuses V8 and per-process flags (heap sizes,
 * `--stack-size`, `--expose-gc`, `--title`, …) with ERR_WORKER_INVALID_EXEC_ARGV. Those already
 * apply to the whole process, workers included, so `startWorker` leaves out the ones Node names.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads'

/** Dropped flags, by name, with or without `=value`. */
const DROPPED = new Set([
  '--input-type',
  '--eval',
  '-e',
  '--print',
  '-p',
  '--interactive',
  '-i',
  '--check',
  '-c',
])
/** Dropped flags that may be written as `--flag value` (the value is dropped with them). */
const TAKES_VALUE = new Set([
  '--input-type',
  '--eval',
  '-e',
  '--print',
  '-p',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-concurrency',
  '--test-timeout',
  '--test-shard',
  '--test-coverage-include',
  '--test-coverage-exclude',
  '--watch-path',
])

function flagName(flag: string): string {
  const equals = flag.indexOf('=')
  return equals < 0 ? flag : flag.slice(0, equals)
}

function mainScriptOnly(name: string): boolean {
  return DROPPED.has(name) || name === '--test' || name.startsWith('--test-') || name.startsWith('--watch')
}

/** `execArgv` without the flags that describe how the main script is given or run. */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] as string
    const name = flagName(flag)
    if (!mainScriptOnly(name)) kept.push(flag)
    // `--eval code` or `--test-reporter spec`: skip the value too.
    else if (flag === name && TAKES_VALUE.has(name)) i++
  }
  return kept
}

/** `flags` without the ones in `refused` (and a separate value that follows one). */
function withoutRefused(flags: readonly string[], refused: ReadonlySet<string>): string[] {
  const kept: string[] = []
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i] as string
    if (!refused.has(flag) && !refused.has(flagName(flag))) {
      kept.push(flag)
      continue
    }
    const next = flags[i + 1]
    if (!flag.includes('=') && next !== undefined && !next.startsWith('-')) i++
  }
  return kept
}

/** The flags workers start with in this process, once known to be accepted. */
let accepted: string[] | null = null

/** Starts a Worker with the process's flags that a worker can and should have. */
export function startWorker(script: URL, options: Omit<WorkerOptions, 'execArgv'>): Worker {
  const execArgv = accepted ?? workerExecArgv(process.execArgv)
  try {
    const worker = new Worker(script, { ...options, execArgv })
    accepted = execArgv
    return worker
  } catch (error) {
    const { code, message } = error as { code?: unknown; message: string }
    if (code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error
    // "Initiated Worker with invalid execArgv flags: --a=1, --b". Node refuses them before it
    // takes anything from `options` (the transferred port is still ours), so trying again is safe.
    const listed = message.slice(message.indexOf(':') + 1).split(',')
    accepted = withoutRefused(execArgv, new Set(listed.map((flag) => flag.trim()).filter(Boolean)))
    return new Worker(script, { ...options, execArgv: accepted })
  }
}
