/**
 * sqlaio as a contender: engines on the JS path, and on the native path when the addon is
 * present, and the ways of reading a result. The native probe is dynamic so the bench runs both
 * before and after the native fast path exists.
 */
import * as sqlaio from '../../src/index.js'
import type { RunOutput } from '../contender.js'

export type SqlaioPath = 'js' | 'native'

/** Whether sqlaio's native fast path is available in this build and on this machine. */
export function nativeAvailable(): boolean {
  const probe = (sqlaio as { nativeAvailable?: () => boolean }).nativeAvailable
  return typeof probe === 'function' && probe()
}

/** The paths to measure: the JS path always, the native one when it loads. */
export function sqlaioPaths(): SqlaioPath[] {
  return nativeAvailable() ? ['js', 'native'] : ['js']
}

export function label(via: SqlaioPath, what: string): string {
  return via === 'native' ? `sqlaio native ${what}` : `sqlaio ${what}`
}

/**
 * An engine on the database file at `path`, pinned to one path, its worker already started;
 * `options` are added to the engine's.
 */
export async function openEngine(
  path: string,
  via: SqlaioPath,
  readonly = true,
  options?: sqlaio.EngineOptions,
): Promise<sqlaio.Engine> {
  const engine = sqlaio.createEngine(`sqlite:///${path}`, {
    ...options,
    readonly,
    native: via === 'native' ? 'require' : 'off',
  })
  await engine.scalar('SELECT 1')
  return engine
}

type Executes = Pick<sqlaio.Connection, 'execute'>

/** The ways to read a whole result, each returning what a caller would hold afterwards. */
export const READS: Record<string, (db: Executes, sql: string) => Promise<RunOutput>> = {
  async 'toArrow()'(db, sql) {
    const table = await (await db.execute(sql)).toArrow()
    return { rows: table.numRows, retained: table }
  },
  async 'fetchall()'(db, sql) {
    const rows = await (await db.execute(sql)).fetchall()
    return { rows: rows.length, retained: rows }
  },
  async 'for await'(db, sql) {
    let rows = 0
    for await (const _row of await db.execute(sql)) rows++
    return { rows }
  },
  async 'batches()'(db, sql) {
    let rows = 0
    for await (const batch of (await db.execute(sql)).batches()) rows += batch.numRows
    return { rows }
  },
}
