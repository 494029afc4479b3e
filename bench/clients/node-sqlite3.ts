/**
 * node-sqlite3 (the `sqlite3` package), whose queries run on libuv's thread pool: `db.all`
 * promisified, the way its users call it.
 */
import sqlite3 from 'sqlite3'
import type { Executor } from './executor.js'

/** A read-only node-sqlite3 handle. */
export async function openNodeSqlite3(path: string): Promise<Executor> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (error) =>
      error ? reject(error) : resolve(opened),
    )
  })
  return {
    all: (sql, params = []) =>
      new Promise((resolve, reject) =>
        db.all(sql, params, (error, rows) => (error ? reject(error) : resolve(rows))),
      ),
    close: () => new Promise((resolve, reject) => db.close((error) => (error ? reject(error) : resolve()))),
  }
}
