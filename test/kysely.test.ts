/**
 * The Kysely dialect, driven through Kysely's own query builder, schema builder, transactions,
 * streams, introspection and Migrator over a real sqlaio engine.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Generated, Kysely, type Migration, Migrator, sql } from 'kysely'
import { AbortError, type Engine, type EngineOptions } from '../src/index.js'
import { CancelPlugin, SqlaioDialect } from '../src/integrations/kysely.js'
import { countSql, SLOW_SCALAR_SQL, tempEngine } from './helpers.js'

interface Database {
  person: { id: Generated<number>; name: string; age: number | null }
  pet: { id: Generated<number>; owner_id: number; species: string }
  numbers: { x: number }
}

async function setup(options?: EngineOptions): Promise<{ engine: Engine; db: Kysely<Database> }> {
  const engine = tempEngine(options)
  const db = new Kysely<Database>({ dialect: new SqlaioDialect({ engine }) })
  await db.schema
    .createTable('person')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('age', 'integer')
    .execute()
  await db.schema
    .createTable('pet')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('person.id'))
    .addColumn('species', 'text', (c) => c.notNull())
    .execute()
  return { engine, db }
}

test('insert, select, update and delete through the query builder', async (t) => {
  const { db } = await setup()
  t.after(() => db.destroy())
  const names = ['Dan Rydell', 'Casey McCall', 'Dana Whitaker']
  const ids: bigint[] = []
  for (const [i, name] of names.entries()) {
    const inserted = await db
      .insertInto('person')
      .values({ name, age: 30 + i })
      .executeTakeFirstOrThrow()
    assert.equal(typeof inserted.insertId, 'bigint')
    assert.equal(inserted.numInsertedOrUpdatedRows, 1n)
    ids.push(inserted.insertId!)
  }
  assert.deepEqual(ids, [1n, 2n, 3n])

  const rows = await db.selectFrom('person').select(['id', 'name', 'age']).orderBy('id').execute()
  assert.deepEqual(
    rows,
    names.map((name, i) => ({ id: i + 1, name, age: 30 + i })),
  )

  const updated = await db
    .updateTable('person')
    .set((eb) => ({ age: eb('age', '+', 1) }))
    .where('age', '>=', 31)
    .executeTakeFirstOrThrow()
  assert.equal(updated.numUpdatedRows, 2n)
  const ages = await db.selectFrom('person').select('age').orderBy('id').execute()
  assert.deepEqual(
    ages.map((r) => r.age),
    [30, 32, 33],
  )

  const returned = await db
    .insertInto('person')
    .values({ name: 'Isaac Jaffe', age: null })
    .returning(['id', 'name'])
    .executeTakeFirstOrThrow()
  assert.deepEqual(returned, { id: 4, name: 'Isaac Jaffe' })

  const deleted = await db.deleteFrom('person').where('age', 'is', null).executeTakeFirstOrThrow()
  assert.equal(deleted.numDeletedRows, 1n)
  const one = await db.selectFrom('person').selectAll().where('name', '=', 'Casey McCall').executeTakeFirst()
  assert.deepEqual(one, { id: 2, name: 'Casey McCall', age: 32 })
})

test('joins and aggregates', async (t) => {
  const { db } = await setup()
  t.after(() => db.destroy())
  const owners = ['Jeremy', 'Natalie', 'Elliot']
  await db
    .insertInto('person')
    .values(owners.map((name) => ({ name, age: null })))
    .execute()
  // Owner i (1-based) gets i pets.
  const pets = owners.flatMap((_, i) =>
    Array.from({ length: i + 1 }, (_, j) => ({ owner_id: i + 1, species: j % 2 ? 'cat' : 'dog' })),
  )
  await db.insertInto('pet').values(pets).execute()

  const joined = await db
    .selectFrom('pet')
    .innerJoin('person', 'person.id', 'pet.owner_id')
    .select(['person.name', 'pet.species'])
    .orderBy('pet.id')
    .execute()
  assert.deepEqual(
    joined,
    pets.map((p) => ({ name: owners[p.owner_id - 1], species: p.species })),
  )

  const counts = await db
    .selectFrom('person')
    .leftJoin('pet', 'pet.owner_id', 'person.id')
    .select(['person.name', (eb) => eb.fn.count<number>('pet.id').as('pets')])
    .groupBy('person.id')
    .orderBy('person.id')
    .execute()
  assert.deepEqual(
    counts,
    owners.map((name, i) => ({ name, pets: i + 1 })),
  )
})

test('db.transaction() commits on one pinned worker, invisible to others until then', async (t) => {
  const { engine, db } = await setup()
  t.after(() => db.destroy())
  const seenInside = await db.transaction().execute(async (trx) => {
    await trx.insertInto('person').values({ name: 'Sally Sasser', age: 40 }).execute()
    const inside = await trx
      .selectFrom('person')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst()
    // The engine's own worker reads committed data only.
    const outside = await engine.scalar('SELECT count(*) FROM person')
    return { inside: inside?.n, outside }
  })
  assert.deepEqual(seenInside, { inside: 1, outside: 0 })
  assert.equal(await engine.scalar('SELECT count(*) FROM person'), 1)
})

test('db.transaction() rolls back when the callback throws', async (t) => {
  const { engine, db } = await setup()
  t.after(() => db.destroy())
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await trx.insertInto('person').values({ name: 'Gordon', age: 1 }).execute()
      throw new Error('changed my mind')
    }),
    /changed my mind/,
  )
  assert.equal(await engine.scalar('SELECT count(*) FROM person'), 0)
  // A failing statement inside rolls back too, and the error is SQLite's.
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await trx.insertInto('person').values({ name: 'Kim', age: 2 }).execute()
      await trx.insertInto('pet').values({ id: 1, owner_id: 1, species: 'x' }).execute()
      await trx.insertInto('pet').values({ id: 1, owner_id: 1, species: 'y' }).execute()
    }),
    (error: Error & { code?: string }) => error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY',
  )
  assert.equal(await engine.scalar('SELECT count(*) FROM person'), 0)
  assert.equal(await engine.scalar('SELECT count(*) FROM pet'), 0)
})

test('savepoints through a controlled transaction', async (t) => {
  const { engine, db } = await setup()
  t.after(() => db.destroy())
  const trx = await db.startTransaction().execute()
  await trx.insertInto('person').values({ name: 'kept', age: 1 }).execute()
  const sp1 = await trx.savepoint('before_oops').execute()
  await sp1.insertInto('person').values({ name: 'undone', age: 2 }).execute()
  const back = await sp1.rollbackToSavepoint('before_oops').execute()
  const sp2 = await back.savepoint('second').execute()
  await sp2.insertInto('person').values({ name: 'released', age: 3 }).execute()
  const released = await sp2.releaseSavepoint('second').execute()
  assert.equal(await engine.scalar('SELECT count(*) FROM person'), 0)
  await released.commit().execute()
  const names = await db.selectFrom('person').select('name').orderBy('id').execute()
  assert.deepEqual(
    names.map((r) => r.name),
    ['kept', 'released'],
  )

  const rolledBack = await db.startTransaction().execute()
  await rolledBack.insertInto('person').values({ name: 'gone', age: 4 }).execute()
  await rolledBack.rollback().execute()
  assert.equal(await engine.scalar('SELECT count(*) FROM person'), 2)
})

test('.stream() yields every row in order, in chunks, and stops early without leaking', async (t) => {
  const { engine, db } = await setup({ batchRows: 1000 })
  t.after(() => db.destroy())
  const n = 25_000
  await db.schema.createTable('numbers').addColumn('x', 'integer').execute()
  await engine.exec(`INSERT INTO numbers ${countSql(n)}`)

  let count = 0
  let sum = 0
  let ordered = true
  for await (const row of db.selectFrom('numbers').select('x').orderBy('x').stream(500)) {
    count++
    if (row.x !== count) ordered = false
    sum += row.x
  }
  assert.equal(count, n)
  assert.equal(sum, (n * (n + 1)) / 2)
  assert.ok(ordered)

  const firstFew: number[] = []
  for await (const row of db.selectFrom('numbers').select('x').orderBy('x').stream(10)) {
    firstFew.push(row.x)
    if (firstFew.length === 3) break
  }
  assert.deepEqual(firstFew, [1, 2, 3])
  // The connection went back in a usable state: a write on it succeeds (no open read holds it).
  await db.deleteFrom('numbers').where('x', '>', 10).execute()
  assert.equal(await engine.scalar('SELECT count(*) FROM numbers'), 10)
})

test('introspection lists tables and columns', async (t) => {
  const { db } = await setup()
  t.after(() => db.destroy())
  const tables = await db.introspection.getTables()
  const byName = new Map(tables.map((table) => [table.name, table]))
  assert.deepEqual([...byName.keys()].sort(), ['person', 'pet'])
  const person = byName.get('person')!
  assert.deepEqual(
    person.columns.map((c) => [c.name, c.dataType.toLowerCase(), c.isNullable, c.isAutoIncrementing]),
    [
      ['id', 'integer', true, true],
      ['name', 'text', false, false],
      ['age', 'integer', true, false],
    ],
  )
})

test('the Migrator applies and reverts migrations from a custom provider', async (t) => {
  const engine = tempEngine()
  const db = new Kysely<Record<string, never>>({ dialect: new SqlaioDialect({ engine }) })
  t.after(() => db.destroy())
  const migrations: Record<string, Migration> = {
    '0001_create_show': {
      up: (db) =>
        db.schema
          .createTable('show')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .execute(),
      down: (db) => db.schema.dropTable('show').execute(),
    },
    '0002_add_title': {
      up: (db) => db.schema.alterTable('show').addColumn('title', 'text').execute(),
      down: (db) => db.schema.alterTable('show').dropColumn('title').execute(),
    },
  }
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })

  const up = await migrator.migrateToLatest()
  assert.equal(up.error, undefined)
  assert.deepEqual(
    up.results?.map((r) => [r.migrationName, r.direction, r.status]),
    [
      ['0001_create_show', 'Up', 'Success'],
      ['0002_add_title', 'Up', 'Success'],
    ],
  )
  const columns = async (): Promise<unknown[]> =>
    (await engine.execute('SELECT name FROM pragma_table_info(?)', ['show'])).scalars()
  assert.deepEqual(await columns(), ['id', 'title'])
  assert.equal(await engine.scalar('SELECT count(*) FROM kysely_migration'), 2)

  const down = await migrator.migrateDown()
  assert.deepEqual(
    down.results?.map((r) => [r.migrationName, r.direction, r.status]),
    [['0002_add_title', 'Down', 'Success']],
  )
  assert.deepEqual(await columns(), ['id'])
})

test('CancelPlugin interrupts a running query; the connection and transaction stay usable', async (t) => {
  const { engine, db } = await setup()
  t.after(() => db.destroy())
  const started = performance.now()
  await assert.rejects(
    sql`${sql.raw(SLOW_SCALAR_SQL)}`.execute(db.withPlugin(new CancelPlugin(AbortSignal.timeout(50)))),
    AbortError,
  )
  assert.ok(performance.now() - started < 2000, 'cancelled well before the query would finish')

  await db.transaction().execute(async (trx) => {
    await trx.insertInto('person').values({ name: 'before', age: 1 }).execute()
    await assert.rejects(
      sql`${sql.raw(SLOW_SCALAR_SQL)}`.execute(trx.withPlugin(new CancelPlugin({ timeoutMs: 50 }))),
      (error: Error) => error.name === 'TimeoutError',
    )
    await trx.insertInto('person').values({ name: 'after', age: 2 }).execute()
  })
  const names = await (await engine.execute('SELECT name FROM person ORDER BY id')).scalars()
  assert.deepEqual(names, ['before', 'after'])
})

test('CancelPlugin stops a stream part way', async (t) => {
  const { engine, db } = await setup({ batchRows: 1000 })
  t.after(() => db.destroy())
  const n = 50_000
  await db.schema.createTable('numbers').addColumn('x', 'integer').execute()
  await engine.exec(`INSERT INTO numbers ${countSql(n)}`)
  const controller = new AbortController()
  let seen = 0
  await assert.rejects(async () => {
    const query = db.withPlugin(new CancelPlugin(controller.signal)).selectFrom('numbers').select('x')
    for await (const _ of query.stream(100)) {
      if (++seen === 150) controller.abort(new Error('enough'))
    }
  }, AbortError)
  assert.ok(seen >= 150 && seen < n, `stopped after ${seen} rows`)
  assert.deepEqual(
    await db
      .selectFrom('numbers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst(),
    {
      n,
    },
  )
})

test('rows are objects whatever the engine row mode, and sqlaio runs compiled Kysely queries', async (t) => {
  const { engine, db } = await setup({ rowMode: 'array' })
  t.after(() => db.destroy())
  await db.insertInto('person').values({ name: 'Rebecca', age: 35 }).execute()
  assert.deepEqual(await db.selectFrom('person').select(['name', 'age']).execute(), [
    { name: 'Rebecca', age: 35 },
  ])
  const compiled = db.selectFrom('person').select('name').where('age', '>', 30).compile()
  assert.deepEqual(await (await engine.execute(compiled)).fetchall(), [['Rebecca']])
})

test('destroy() closes the dialect connections but leaves the engine open', async () => {
  const { engine, db } = await setup()
  await Promise.all([1, 2, 3].map((age) => db.insertInto('person').values({ name: 'x', age }).execute()))
  await db.destroy()
  assert.equal(await engine.scalar('SELECT count(*) FROM person'), 3)
  await assert.rejects(db.selectFrom('person').selectAll().execute(), /destroyed/)
})

test('a connection left inside a raw BEGIN is closed on release, rolling it back', async (t) => {
  const { engine, db } = await setup()
  t.after(() => db.destroy())
  await sql`BEGIN`.execute(db)
  await db.insertInto('person').values({ name: 'autocommit', age: 1 }).execute()
  assert.equal(await engine.scalar('SELECT count(*) FROM person'), 1)
  await db.connection().execute(async (conn) => {
    await sql`BEGIN`.execute(conn)
    await conn.insertInto('person').values({ name: 'never committed', age: 2 }).execute()
  })
  assert.equal(await engine.scalar('SELECT count(*) FROM person'), 1)
})

test('isolation levels and access modes are refused', async (t) => {
  const { db } = await setup()
  t.after(() => db.destroy())
  await assert.rejects(
    db
      .transaction()
      .setIsolationLevel('serializable')
      .execute(async () => {}),
    TypeError,
  )
  await assert.rejects(
    db
      .transaction()
      .setAccessMode('read only')
      .execute(async () => {}),
    TypeError,
  )
})
