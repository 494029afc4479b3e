/**
 * The package as users get it: the repository's files (what a fresh clone has) are packed with
 * `npm pack` (which builds in `prepack`), the tarball is checked to carry sources and no build
 * products, and it is installed into an empty project (better-sqlite3 and the native addon are
 * compiled there), where a query runs through `toArrow()` and through the `sqlaio` command.
 *
 * Slow (a few minutes: the install compiles better-sqlite3), so it runs once per `npm test`:
 * on the native pass, not again on the SQLAIO_NATIVE=off pass. Network: the npm registry only,
 * and the local npm cache first.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { nativeAvailable } from '../src/index.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** The environment for child npm runs, without what an enclosing `npm test` sets for its own script. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { CI: 'true' }
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_(package|lifecycle)_|^INIT_CWD$/.test(key)) env[key] = value
  }
  return env
}

test('npm pack gives a package that installs into an empty project, queries, and runs the CLI', {
  skip: process.env.SQLAIO_NATIVE === 'off' && 'packaging is tested once, on the native pass',
  timeout: 900_000,
}, async () => {
  const work = mkdtempSync(join(tmpdir(), 'sqlaio-pack-'))
  after(() => rmSync(work, { recursive: true, force: true }))
  const env = cleanEnv()
  const options = { env, maxBuffer: 64 << 20 }

  // A fresh clone: the files git knows (tracked, or new and not ignored), and the dev tools.
  const clone = join(work, 'clone')
  const { stdout: listed } = await run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: ROOT, ...options },
  )
  for (const file of listed.split('\0').filter((f) => f !== '' && existsSync(join(ROOT, f)))) {
    mkdirSync(dirname(join(clone, file)), { recursive: true })
    cpSync(join(ROOT, file), join(clone, file))
  }
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir')

  const { stdout: packed } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: clone,
    ...options,
  })
  const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as {
    filename: string
    files: { path: string }[]
  }[]
  const files = info!.files.map((f) => f.path)
  for (const needed of [
    'package.json',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/cli/main.js',
    'dist/src/io/parquet.js',
    'native/binding.gyp',
    'native/src/addon.c',
  ]) {
    assert.ok(files.includes(needed), `the tarball lacks ${needed}`)
  }
  const unwanted = files.filter((f) => /^native\/build\/|^test\/|^dist\/test\/|\.map$|^src\//.test(f))
  assert.deepEqual(unwanted, [], 'build products, tests and TypeScript sources stay out')

  const app = join(work, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  await run('npm', ['install', join(work, info!.filename), '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: app,
    ...options,
  })

  const native = nativeAvailable()
  writeFileSync(
    join(app, 'query.mjs'),
    `import { createEngine, nativeAvailable } from 'sqlaio'
      const engine = createEngine('sqlite://', { native: ${native ? "'require'" : "'off'"} })
      await engine.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('Dan'), ('Dana')")
      const table = await (await engine.execute('SELECT id, name FROM t ORDER BY id')).toArrow()
      console.log(JSON.stringify({ native: nativeAvailable(), ids: [...table.getChild('id')].map(Number), names: [...table.getChild('name')] }))
      await engine.dispose()`,
  )
  const { stdout: queried } = await run(process.execPath, ['query.mjs'], { cwd: app, ...options })
  assert.deepEqual(JSON.parse(queried), { native, ids: [1, 2], names: ['Dan', 'Dana'] })

  const { stdout: printed } = await run(
    join(app, 'node_modules', '.bin', 'sqlaio'),
    ['sqlite://', "SELECT 41 + 1 AS answer, 'ok' AS status", '--format', 'ndjson'],
    { cwd: app, ...options },
  )
  assert.equal(printed, '{"answer":42,"status":"ok"}\n')
})
