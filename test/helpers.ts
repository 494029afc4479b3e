/**
 * Shared test helpers: temporary database files and engines that are always disposed.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { pathToFileURL } from 'node:url'
import { createEngine, type Engine, type EngineOptions } from '../src/index.js'

const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A path for a new database file in a temporary directory removed after the test file. */
export function tempDbPath(name = 'test.db'): string {
  const dir = mkdtempSync(join(tmpdir(), 'sqlaio-test-'))
  dirs.push(dir)
  return join(dir, name)
}

/**
 * The `native` option of engines from tempEngine() unless a test passes its own: the environment
 * variable SQLAIO_NATIVE (off | auto | require, default auto), so `npm test` can run the suite on
 * both paths.
 */
export const TEST_NATIVE = (process.env.SQLAIO_NATIVE ?? 'auto') as NonNullable<EngineOptions['native']>

/** An engine on a fresh temporary file (or `sqlite://` when `memory`), disposed after the test. */
export function tempEngine(options?: EngineOptions & { memory?: boolean }): Engine {
  const { memory, ...rest } = options ?? {}
  const url = memory ? 'sqlite://' : `sqlite:///${tempDbPath()}`
  const engine = createEngine(url, { native: TEST_NATIVE, ...rest })
  after(() => engine.dispose())
  return engine
}

/** A query answering one row after a few hundred milliseconds of work in SQLite. */
export const SLOW_SCALAR_SQL =
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT sum(x) AS s FROM c'

/** A recursive CTE yielding the integers 1..n as column `x`. */
export function countSql(n: number): string {
  return `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT x FROM c`
}

/** Writes an ES module into a temporary directory and returns its absolute path. */
export function writeModule(source: string, name = 'module.mjs'): string {
  const dir = mkdtempSync(join(tmpdir(), 'sqlaio-test-mod-'))
  dirs.push(dir)
  const path = join(dir, name)
  writeFileSync(path, source)
  return path
}

/** URL of the built library, for scripts run in child processes. */
export const LIBRARY_URL = new URL('../src/index.js', import.meta.url).href

export interface ChildOutcome {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Wall time from spawn to exit, in milliseconds. */
  elapsedMs: number
  /** True when the child was killed for running past `timeoutMs`. */
  timedOut: boolean
}

/**
 * Runs `source` as an ES module in a child Node process. The module specifier `'SQLAIO'` (quoted)
 * in the source is replaced by the URL of the built library. The child is killed after `timeoutMs`.
 */
export function runChild(
  source: string,
  timeoutMs: number,
  env?: Record<string, string>,
): Promise<ChildOutcome> {
  const script = writeModule(source.replaceAll("'SQLAIO'", JSON.stringify(LIBRARY_URL)), 'child.mjs')
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [pathToFileURL(script).pathname], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    // 'close' comes after the exit and after the pipes have been read to the end.
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - started, timedOut })
    })
  })
}
