/**
 * What a run-in-executor task does in its thread: better-sqlite3's `.all()` on a statement
 * prepared once per connection. Shared by the plain worker and the piscina task so that both
 * baselines do exactly the same work.
 */
import Database from 'better-sqlite3'

export interface QueryTask {
  sql: string
  params: unknown[]
}

export type QueryRunner = (task: QueryTask) => unknown[]

/** A runner over one read-only connection to `path`, caching prepared statements by SQL. */
export function queryRunner(path: string): QueryRunner {
  const db = new Database(path, { readonly: true })
  const statements = new Map<string, Database.Statement<unknown[], unknown>>()
  return ({ sql, params }) => {
    let statement = statements.get(sql)
    if (!statement) statements.set(sql, (statement = db.prepare(sql)))
    return statement.all(...params)
  }
}
