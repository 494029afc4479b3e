/**
 * Worker script of the kysely-generic-sqlite contender, as its README shows: better-sqlite3 in a
 * worker thread, rows posted back to the main thread by structured clone.
 */
import Database from 'better-sqlite3'
import type { IGenericSqlite } from 'kysely-generic-sqlite'
import { createNodeOnMessageCallback } from 'kysely-generic-sqlite/worker-helper-node'

function createSqliteExecutor(db: Database.Database): IGenericSqlite<Database.Database> {
  const getStmt = (sql: string) => db.prepare(sql)
  return {
    db,
    query: (_isSelect, sql, parameters) => {
      const stmt = getStmt(sql)
      if (stmt.reader) return { rows: stmt.all(parameters ?? []) }
      const { changes, lastInsertRowid } = stmt.run(parameters ?? [])
      return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) }
    },
    close: () => db.close(),
    iterator: (_isSelect, sql, parameters) =>
      getStmt(sql).iterate(parameters ?? []) as IterableIterator<never>,
  }
}

createNodeOnMessageCallback<{ fileName: string }>((data) =>
  createSqliteExecutor(new Database(data.fileName, { readonly: true })),
)
