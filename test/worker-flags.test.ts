/**
 * Workers start whatever flags started the process (issue 8): a Worker inherits
 * `process.execArgv`, and flags such as `--input-type` (from `node --input-type=module -e …`)
 * would make every worker exit at start-up. Workers keep the flags meant for every thread.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { workerExecArgv } from '../src/thread/worker-flags.js'
import { LIBRARY_URL, writeModule } from './helpers.js'

test('workerExecArgv drops how the main script is given and run, keeps the rest', () => {
  assert.deepEqual(
    workerExecArgv([
      '--input-type=module',
      '--import',
      './hooks.mjs',
      '-e',
      'console.log(1)',
      '--max-old-space-size=256',
      '--test',
      '--test-reporter',
      'spec',
      '--test-name-pattern=x',
      '--watch',
      '--watch-path=src',
      '--conditions=development',
      '-C',
      'custom',
      '--experimental-vm-modules',
      '--require',
      './r.cjs',
      '--input-type',
      'commonjs',
      '-p',
      '1 + 1',
      '--enable-source-maps',
    ]),
    [
      '--import',
      './hooks.mjs',
      '--max-old-space-size=256',
      '--conditions=development',
      '-C',
      'custom',
      '--experimental-vm-modules',
      '--require',
      './r.cjs',
      '--enable-source-maps',
    ],
  )
  assert.deepEqual(workerExecArgv([]), [])
})

function runNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const preload = writeModule('globalThis.sqlaioPreloaded = "yes"\n', 'preload.mjs')
const probe = writeModule(
  'export function preloaded() { return globalThis.sqlaioPreloaded ?? "no" }\n',
  'probe.mjs',
)

const SCRIPT = `
  import { createEngine } from ${JSON.stringify(LIBRARY_URL)}
  const engine = createEngine('sqlite://', { native: process.env.SQLAIO_NATIVE ?? 'auto' })
  const conn = await engine.connect()
  const answers = [
    await engine.scalar('SELECT 41 + 1'),
    await conn.scalar('SELECT 2 * 21'),
    await engine.runInWorker(${JSON.stringify(probe)}, 'preloaded'),
  ]
  await conn.close()
  await engine.dispose()
  console.log(JSON.stringify(answers))
`

test('a script run with node --input-type=module -e uses sqlaio', async () => {
  const out = await runNode(['--input-type=module', '-e', SCRIPT])
  assert.equal(out.code, 0, out.stderr)
  assert.deepEqual(JSON.parse(out.stdout), [42, 42, 'no'])
})

test('a script run with several flags: workers keep --import, drop the rest', async () => {
  const out = await runNode([
    '--enable-source-maps',
    '--max-old-space-size=256',
    '--stack-size=900',
    '--expose-gc',
    '--conditions=development',
    '--no-warnings',
    '--test-reporter=spec',
    '--import',
    preload,
    '--input-type',
    'module',
    '--eval',
    SCRIPT,
  ])
  assert.equal(out.code, 0, out.stderr)
  assert.deepEqual(JSON.parse(out.stdout), [42, 42, 'yes'])
})
