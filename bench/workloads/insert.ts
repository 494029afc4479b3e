/**
 * Bulk insert: n reference rows in one transaction, sqlaio against better-sqlite3's prepared-insert
 * loop inside `db.transaction`. sqlaio is given the rows as arrays (`executeMany`, one round trip)
 * or as the Arrow Table `toArrow()` returns for the reference table (`executeMany` with a Table,
 * or `insertArrow`), which goes to the worker through shared memory. Each contender writes to its
 * own scratch file with default pragmas; the table (the reference schema, id the rowid) is
 * recreated before every run, so `insertArrow` appends to a pre-created table like the loop does.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Binary, makeVector, Table, Utf8, vectorFromArray } from 'apache-arrow'
import Database from 'better-sqlite3'
import type { Engine } from '../../src/index.js'
import { label, openEngine, sqlaioPaths } from '../clients/sqlaio.js'
import type { ContenderEntry } from '../contender.js'
import { type RefRow, refRows, TABLE_SQL } from '../data.js'

export const INSERT_BASELINES = ['better-sqlite3 insert loop']

const RECREATE = `DROP TABLE IF EXISTS ref; ${TABLE_SQL}`
const INSERT_SQL = 'INSERT INTO ref (id, a, b, c, d, e) VALUES (?, ?, ?, ?, ?, ?)'
const SEED = 7

/** One row's parameters: its id, then the reference columns. */
type InsertParams = [number, ...RefRow]

const insertParams = (count: number): InsertParams[] =>
  Array.from(refRows(count, SEED), (row, i): InsertParams => [i + 1, ...row])

export type InsertCall = 'executeMany' | 'executeMany(Arrow Table)' | 'insertArrow()'

/** What a contender inserts from, and how; `before` and `after` run untimed around each run. */
interface Inserter {
  before?(): void
  run(): Promise<number> | number
  after?(): void
}

/**
 * Row arrays held only around each run: built before it and dropped after it, so that the other
 * contenders' runs in the same process neither carry nor collect a million of them.
 */
function paramsPerRun(count: number): Required<Omit<Inserter, 'run'>> & { params(): InsertParams[] } {
  let params: InsertParams[] | undefined
  return {
    before: () => void (params = insertParams(count)),
    after: () => void (params = undefined),
    params: () => params!,
  }
}

/** The same rows as the Table `toArrow()` returns for the reference table: Int64, Float64, Utf8, Binary. */
function arrowTable(count: number): Table {
  const params = insertParams(count)
  const int64 = (i: 0 | 1) => makeVector(BigInt64Array.from(params, (row) => BigInt(row[i])))
  return new Table({
    id: int64(0),
    a: int64(1),
    b: makeVector(Float64Array.from(params, (row) => row[2])),
    c: vectorFromArray(
      params.map((row) => row[3]),
      new Utf8(),
    ),
    d: vectorFromArray(
      params.map((row) => row[4]),
      new Utf8(),
    ),
    e: vectorFromArray(
      params.map((row) => row[5]),
      new Binary(),
    ),
  })
}

function scratch(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sqlaio-bench-'))
  return { path: join(dir, 'insert.db'), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** sqlaio inserting `count` rows by each of `calls`, on each path, and the better-sqlite3 loop. */
export function insertContenders(count: number, calls: InsertCall[]): ContenderEntry[] {
  // Built once, when the first contender given it opens: its buffers are outside the JS heap.
  let table: Table | undefined
  const arrow = (insert: (data: Table) => Promise<number>): Inserter => {
    const data = (table ??= arrowTable(count))
    return { run: () => insert(data) }
  }
  const inserters: Record<InsertCall, (engine: Engine) => Inserter> = {
    executeMany(engine) {
      const rows = paramsPerRun(count)
      return { ...rows, run: () => engine.executeMany(INSERT_SQL, rows.params()) }
    },
    'executeMany(Arrow Table)': (engine) => arrow((data) => engine.executeMany(INSERT_SQL, data)),
    'insertArrow()': (engine) => arrow((data) => engine.insertArrow('ref', data)),
  }
  const sqlaio = sqlaioPaths().flatMap((via) =>
    calls.map(
      (call): ContenderEntry => ({
        name: label(via, call),
        async open() {
          const file = scratch()
          const engine = await openEngine(file.path, via, false)
          const inserter = inserters[call](engine)
          return {
            before: async () => {
              inserter.before?.()
              await engine.exec(RECREATE)
            },
            run: async () => ({ rows: await inserter.run() }),
            after: inserter.after,
            async close() {
              await engine.dispose()
              file.remove()
            },
          }
        },
      }),
    ),
  )
  const loop: ContenderEntry = {
    name: 'better-sqlite3 insert loop',
    open() {
      const file = scratch()
      const db = new Database(file.path)
      db.exec(RECREATE)
      const rows = paramsPerRun(count)
      const insert = db.prepare(INSERT_SQL)
      const insertAll = db.transaction(() => {
        let changes = 0
        for (const row of rows.params()) changes += insert.run(...row).changes
        return changes
      })
      return {
        before: () => {
          rows.before()
          db.exec(RECREATE)
        },
        run: () => ({ rows: insertAll() }),
        after: rows.after,
        close() {
          db.close()
          file.remove()
        },
      }
    },
  }
  return [...sqlaio, loop]
}
