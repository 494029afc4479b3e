/**
 * The shared in-memory database behind `sqlite://`.
 *
 * better-sqlite3 is built without URI filenames and without shared cache, so two connections
 * (two workers) cannot open the same `:memory:` database. Instead the engine makes a private
 * directory on a RAM-backed filesystem (/dev/shm where it exists) and every worker opens one
 * file in it: the data lives in memory, all connections see one database with SQLite's normal
 * locking, and `dispose()` (or process exit) removes the directory.
 */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const live = new Set<string>()
let exitHookInstalled = false

function ramDirectory(): string {
  try {
    accessSync('/dev/shm', constants.W_OK)
    return '/dev/shm'
  } catch {
    return tmpdir()
  }
}

/** Creates the directory and returns the database file's path inside it. */
export function createMemoryDatabase(): { filename: string; remove: () => void } {
  const directory = mkdtempSync(join(ramDirectory(), 'sqlaio-'))
  live.add(directory)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', () => {
      for (const dir of live) rmSync(dir, { recursive: true, force: true })
    })
  }
  return {
    filename: join(directory, 'memory.db'),
    remove: () => {
      live.delete(directory)
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
