/**
 * Bulk insert: n reference rows in one transaction, sqlaio's `executeMany` (one round trip)
 * against better-sqlite3's prepared-insert loop inside `db.transaction`. Each contender writes
 * to its own scratch file with default pragmas; the table is recreated before every run.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { label, openEngine, sqlaioPaths } from '../clients/sqlaio.js'
import type { ContenderEntry } from '../contender.js'
import { refRows, TABLE_SQL } from '../data.js'

export const INSERT_BASELINES = ['better-sqlite3 insert loop']

const RECREATE = `DROP TABLE IF EXISTS ref; ${TABLE_SQL}`
const INSERT_SQL = 'INSERT INTO ref (id, a, b, c, d, e) VALUES (?, ?, ?, ?, ?, ?)'

/** The rows to insert, built once so that generating them is never timed. */
function insertParams(rows: number): unknown[][] {
  const params: unknown[][] = []
  for (const row of refRows(rows, 7)) params.push([params.length + 1, ...row])
  return params
}

function scratch(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sqlaio-bench-'))
  return { path: join(dir, 'insert.db'), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export function insertContenders(rows: number): ContenderEntry[] {
  const params = insertParams(rows)
  const sqlaio = sqlaioPaths().map(
    (via): ContenderEntry => ({
      name: label(via, 'executeMany'),
      async open() {
        const file = scratch()
        const engine = await openEngine(file.path, via, false)
        return {
          before: () => engine.exec(RECREATE),
          run: async () => ({ rows: await engine.executeMany(INSERT_SQL, params) }),
          async close() {
            await engine.dispose()
            file.remove()
          },
        }
      },
    }),
  )
  const loop: ContenderEntry = {
    name: 'better-sqlite3 insert loop',
    open() {
      const file = scratch()
      const db = new Database(file.path)
      db.exec(RECREATE)
      const insert = db.prepare(INSERT_SQL)
      const insertAll = db.transaction(() => {
        let changes = 0
        for (const row of params) changes += insert.run(...row).changes
        return changes
      })
      return {
        before: () => {
          db.exec(RECREATE)
        },
        run: () => ({ rows: insertAll() }),
        close() {
          db.close()
          file.remove()
        },
      }
    },
  }
  return [...sqlaio, loop]
}
