/**
 * Shared test helpers: temporary database files and engines that are always disposed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
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

/** An engine on a fresh temporary file (or `sqlite://` when `memory`), disposed after the test. */
export function tempEngine(options?: EngineOptions & { memory?: boolean }): Engine {
  const { memory, ...rest } = options ?? {}
  const url = memory ? 'sqlite://' : `sqlite:///${tempDbPath()}`
  const engine = createEngine(url, rest)
  after(() => engine.dispose())
  return engine
}
