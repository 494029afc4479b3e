/**
 * PostgreSQL through the rest of the engine's surface, against the real server: runInWorker
 * with the `pg` Client, the logger, dispose() while a statement runs, Kysely over a postgresql
 * engine, and the per-connection description cache (invalidation, retry, parameters passed as
 * parameters whatever their bytes).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Generated, Kysely, sql } from 'kysely'
import { ClosedError, DatabaseError } from '../src/index.js'
import { SqlaioDialect } from '../src/integrations/kysely.js'
import { writeModule } from './helpers.js'
import { pgEngine, pgSchema } from './pg-helpers.js'

const { url, client } = pgSchema('calls')

test('runInWorker receives the pg Client and can query with it', async () => {
  const tools = writeModule(`
    export async function backend(client) {
      const { rows } = await client.query('SELECT pg_backend_pid() AS pid, $1::text AS echo', ['hi'])
      return { pid: rows[0].pid, echo: rows[0].echo, isClient: typeof client.query === 'function' }
    }
  `)
  const engine = pgEngine(url)
  const conn = await engine.connect()
  const pid = await conn.scalar('SELECT pg_backend_pid()')
  // The same server connection as the Connection's statements.
  assert.deepEqual(await conn.runInWorker(tools, 'backend'), { pid, echo: 'hi', isClient: true })
  // The engine's statements still decode after user code used the client.
  assert.equal(await conn.scalar('SELECT 2'), 2)
  await conn.close()
})

test('the logger sees sql, params and elapsed ms of every statement', async () => {
  const calls: { sql: string; params: unknown; elapsedMs: number }[] = []
  const engine = pgEngine(url, { logger: (sql, params, elapsedMs) => calls.push({ sql, params, elapsedMs }) })
  await engine.exec('CREATE TABLE logged (v int)')
  await engine.execute('INSERT INTO logged VALUES ($1)', [4])
  assert.equal(await engine.scalar('SELECT v FROM logged WHERE v = $1', [4]), 4)
  await assert.rejects(engine.execute('SELEC 1'), DatabaseError)
  const slow = performance.now()
  await engine.execute('SELECT pg_sleep(0.05)')
  const slowMs = performance.now() - slow
  assert.deepEqual(
    calls.map((c) => c.sql),
    [
      'CREATE TABLE logged (v int)',
      'INSERT INTO logged VALUES ($1)',
      'SELECT v FROM logged WHERE v = $1',
      'SELEC 1',
      'SELECT pg_sleep(0.05)',
    ],
  )
  assert.deepEqual(calls[2]!.params, [4])
  assert.deepEqual(calls[1]!.params, [4])
  for (const call of calls) assert.ok(call.elapsedMs >= 0 && Number.isFinite(call.elapsedMs))
  const sleep = calls.at(-1)!
  assert.ok(sleep.elapsedMs >= 45 && sleep.elapsedMs <= slowMs + 1, `pg_sleep logged ${sleep.elapsedMs} ms`)
})

test('dispose() during pg_sleep: ClosedError, the process stays up, the backend is gone', async () => {
  const engine = pgEngine(url)
  const conn = await engine.connect()
  const pid = await conn.scalar('SELECT pg_backend_pid()')
  const running = assert.rejects(conn.execute('SELECT pg_sleep(30)'), ClosedError)
  await new Promise((r) => setTimeout(r, 200))
  const started = performance.now()
  await engine.dispose()
  await running
  assert.ok(performance.now() - started < 10_000)
  // The server notices the closed socket; give it a moment, then the backend must be gone.
  let alive = 1
  for (let i = 0; i < 50 && alive > 0; i++) {
    await new Promise((r) => setTimeout(r, 100))
    alive = (await client().query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid]))
      .rows[0].n
  }
  assert.equal(alive, 0, `backend ${pid} still in pg_stat_activity`)
})

interface KyselyDb {
  person: { id: Generated<number>; name: string; age: number | null }
}

test('Kysely over a postgresql engine: CRUD, a transaction, introspection', async () => {
  const engine = pgEngine(url, { intMode: 'number' })
  const db = new Kysely<KyselyDb>({ dialect: new SqlaioDialect({ engine }) })
  try {
    await db.schema
      .createTable('person')
      .addColumn('id', 'serial', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('age', 'integer')
      .execute()
    const inserted = await db
      .insertInto('person')
      .values([
        { name: "Dan O'Rydell", age: 40 },
        { name: 'Casey', age: null },
      ])
      .returning(['id', 'name'])
      .execute()
    assert.deepEqual(
      inserted.map((r) => r.name),
      ["Dan O'Rydell", 'Casey'],
    )
    await db.updateTable('person').set({ age: 41 }).where('name', '=', "Dan O'Rydell").execute()
    assert.deepEqual(await db.selectFrom('person').select(['name', 'age']).orderBy('id').execute(), [
      { name: "Dan O'Rydell", age: 41 },
      { name: 'Casey', age: null },
    ])
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('person').values({ name: 'Dana', age: 35 }).execute()
        throw new Error('roll it back')
      }),
      /roll it back/,
    )
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('person').where('name', '=', 'Casey').execute()
    })
    const { count } = await db
      .selectFrom('person')
      .select(sql<number>`count(*)::int`.as('count'))
      .executeTakeFirstOrThrow()
    assert.equal(count, 1)
    const tables = await db.introspection.getTables()
    const person = tables.find((t) => t.name === 'person')
    assert.ok(person, `tables: ${tables.map((t) => t.name).join(', ')}`)
    assert.deepEqual(
      person.columns.map((c) => [c.name, c.dataType, c.isNullable, c.isAutoIncrementing]),
      [
        ['id', 'int4', false, true],
        ['name', 'text', false, false],
        ['age', 'int4', true, false],
      ],
    )
  } finally {
    await db.destroy()
  }
})

test('a cached description follows DDL on the same connection and on another one', async () => {
  const engine = pgEngine(url, { intMode: 'number' })
  const conn = await engine.connect()
  try {
    await conn.exec('CREATE TABLE shape (a int4, b text)')
    await conn.execute("INSERT INTO shape VALUES (1, 'x')")
    const select = 'SELECT * FROM shape'
    assert.deepEqual(await (await conn.execute(select)).fetchall(), [{ a: 1, b: 'x' }])
    // Same connection: the ALTER clears the cache; the column is now int8 and there are three.
    await conn.exec(
      "ALTER TABLE shape ALTER COLUMN a TYPE int8; ALTER TABLE shape ADD COLUMN c inet DEFAULT '10.0.0.1'",
    )
    assert.deepEqual(await (await conn.execute(select)).fetchall(), [{ a: 1, b: 'x', c: '10.0.0.1' }])
    // Another connection changes the table: this connection's entry is stale. With a column
    // decoded from text (inet) the stale Bind names a format per column; the server refuses it
    // and the statement is described again and retried.
    await client().query('ALTER TABLE shape DROP COLUMN b')
    assert.deepEqual(await (await conn.execute(select)).fetchall(), [{ a: 1, c: '10.0.0.1' }])
    // A type change to one read as text, under an entry that asked for binary: a plain read is
    // retried; the values are never decoded with the old types.
    await conn.execute('SELECT a FROM shape')
    await client().query("ALTER TABLE shape ALTER COLUMN a TYPE inet USING ('10.0.0.' || a)::inet")
    assert.deepEqual(await (await conn.execute('SELECT a FROM shape')).fetchall(), [{ a: '10.0.0.1' }])
    // Same column count, another binary type: decoded by the type the portal describes.
    await conn.execute('SELECT c FROM shape')
    await client().query("ALTER TABLE shape ALTER COLUMN c TYPE text USING 'host ' || c")
    assert.deepEqual(await (await conn.execute('SELECT c FROM shape')).fetchall(), [
      { c: 'host 10.0.0.1/32' },
    ])
  } finally {
    await conn.close()
  }
})

test('parameters travel as parameters: quotes, backslashes, bytes, NUL', async () => {
  const engine = pgEngine(url)
  const tricky = "it's a \\ back\\slash '' and $1 and E'\\x41' -- not a comment"
  assert.equal(await engine.scalar('SELECT $1::text', [tricky]), tricky)
  assert.equal(await engine.scalar('SELECT $1', [tricky]), tricky)
  assert.equal(await engine.scalar('SELECT length($1::text)', [tricky]), tricky.length)
  const bytes = Uint8Array.from([0, 1, 92, 39, 255])
  assert.deepEqual(await engine.scalar('SELECT $1::bytea', [bytes]), Buffer.from(bytes))
  assert.equal(await engine.scalar('SELECT $1::numeric * 2', ['1.5']), '3.0')
  assert.deepEqual(await engine.scalar('SELECT $1::int4[]', ['{1,2,NULL}']), [1, 2, null])
  // PostgreSQL text cannot hold NUL: the server's own error, as pg gets it.
  await assert.rejects(
    engine.scalar('SELECT $1::text', ['a\0b']),
    (e: unknown) => e instanceof DatabaseError && e.code === '22021',
  )
  const conn = await engine.connect()
  await conn.exec('SET standard_conforming_strings = off')
  assert.equal(await conn.scalar('SELECT $1::text', [tricky]), tricky)
  await conn.close()
})

test('Kysely over a postgresql engine: transactions take an isolation level and an access mode; no insertId', async () => {
  const engine = pgEngine(url)
  const db = new Kysely<KyselyDb>({ dialect: new SqlaioDialect({ engine }) })
  try {
    const seen = await db
      .transaction()
      .setIsolationLevel('serializable')
      .setAccessMode('read only')
      .execute(async (trx) => {
        const isolation = await sql<{ v: string }>`SHOW transaction_isolation`.execute(trx)
        const readOnly = await sql<{ v: string }>`SHOW transaction_read_only`.execute(trx)
        return [Object.values(isolation.rows[0]!)[0], Object.values(readOnly.rows[0]!)[0]]
      })
    assert.deepEqual(seen, ['serializable', 'on'])
    await assert.rejects(
      db
        .transaction()
        .setAccessMode('read only')
        .execute((trx) => sql`CREATE TABLE read_only_refused (x int)`.execute(trx)),
      (error: unknown) => error instanceof DatabaseError && error.code === '25006',
    )
    const after = await sql<{ v: string }>`SHOW transaction_read_only`.execute(db)
    assert.equal(Object.values(after.rows[0]!)[0], 'off')
    // PostgreSQL has no last insert id: left out, as Kysely's own PostgreSQL driver does.
    const inserted = await db.transaction().execute(async (trx) => {
      await sql`CREATE TEMP TABLE kysely_inserted (x int)`.execute(trx)
      return sql`INSERT INTO kysely_inserted VALUES (1), (2)`.execute(trx)
    })
    assert.equal(inserted.insertId, undefined)
    assert.equal(inserted.numAffectedRows, 2n)
  } finally {
    await db.destroy()
  }
})
