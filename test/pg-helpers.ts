/**
 * PostgreSQL test helpers: the server URL (SQLAIO_PG_URL, default the local server), a schema
 * of this test file's own (created before, dropped after), engines on it, and a plain `pg`
 * client on the same schema as the oracle.
 */
import { after, before } from 'node:test'
import pg from 'pg'
import { createEngine, type Engine, type EngineOptions } from '../src/index.js'

export const PG_URL = process.env.SQLAIO_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'

/** A schema for one test file; returns the engine URL whose search_path is that schema. */
export function pgSchema(name: string): { url: string; client: () => pg.Client } {
  const schema = `sqlaio_${name}_${process.pid}`
  const sep = PG_URL.includes('?') ? '&' : '?'
  const url = `${PG_URL}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  let client: pg.Client | null = null
  before(async () => {
    client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`)
  })
  after(async () => {
    await client?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client?.end()
  })
  return { url, client: () => client as pg.Client }
}

/** An engine on `url`, disposed after the test file. */
export function pgEngine(url: string, options?: EngineOptions): Engine {
  const engine = createEngine(url, options)
  after(() => engine.dispose())
  return engine
}
