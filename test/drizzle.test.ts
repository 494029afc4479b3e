/**
 * The Drizzle driver, driven through Drizzle's query builder, relational queries, transactions,
 * batches and its sqlite-proxy migrator over a real sqlaio engine.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { asc, eq, gt, relations, sql } from 'drizzle-orm'
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { createEngine, type Engine } from '../src/index.js'
import { drizzle, migrate, type SqlaioRemoteResult } from '../src/integrations/drizzle.js'
import { tempEngine } from './helpers.js'

const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  email: text('email').unique(),
  active: integer('active', { mode: 'boolean' }).notNull().default(true),
})
const posts = sqliteTable('posts', {
  id: integer('id').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.id),
  title: text('title').notNull(),
})
const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }))
const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.userId], references: [users.id] }),
}))
const schema = { users, posts, usersRelations, postsRelations }

async function setup(): Promise<{ engine: Engine; db: ReturnType<typeof drizzle<typeof schema>> }> {
  const engine = tempEngine()
  await engine.exec(`
    CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT UNIQUE,
                        active INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT NOT NULL);
  `)
  return { engine, db: drizzle(engine, { schema }) }
}

test('insert, select, update and delete through the query builder', async () => {
  const { engine, db } = await setup()
  const people = [
    { name: 'Dan Rydell', email: 'dan@cs.tv' },
    { name: 'Casey McCall', email: 'casey@cs.tv' },
    { name: 'Dana Whitaker', email: null },
  ]
  const inserted = await db.insert(users).values(people).returning({ id: users.id, name: users.name })
  assert.deepEqual(
    inserted,
    people.map((p, i) => ({ id: i + 1, name: p.name })),
  )

  const all = await db.select().from(users).orderBy(asc(users.id))
  assert.deepEqual(
    all,
    people.map((p, i) => ({ id: i + 1, ...p, active: true })),
  )

  const updated = await db.update(users).set({ active: false }).where(gt(users.id, 1))
  assert.equal((updated as SqlaioRemoteResult).changes, 2)
  const one = await db
    .select({ name: users.name, active: users.active })
    .from(users)
    .where(eq(users.id, 3))
    .get()
  assert.deepEqual(one, { name: 'Dana Whitaker', active: false })
  assert.equal(await db.select().from(users).where(eq(users.id, 99)).get(), undefined)

  await db.insert(posts).values([
    { id: 10, userId: 1, title: 'Hockey' },
    { id: 11, userId: 1, title: 'Tennis' },
    { id: 12, userId: 2, title: 'Golf' },
  ])
  const joined = await db
    .select({ author: users.name, title: posts.title })
    .from(posts)
    .innerJoin(users, eq(users.id, posts.userId))
    .orderBy(posts.id)
  assert.deepEqual(joined, [
    { author: 'Dan Rydell', title: 'Hockey' },
    { author: 'Dan Rydell', title: 'Tennis' },
    { author: 'Casey McCall', title: 'Golf' },
  ])

  const withPosts = await db.query.users.findMany({
    with: { posts: { columns: { title: true } } },
    orderBy: users.id,
  })
  assert.deepEqual(
    withPosts.map((u) => [u.name, u.posts.map((p) => p.title)]),
    [
      ['Dan Rydell', ['Hockey', 'Tennis']],
      ['Casey McCall', ['Golf']],
      ['Dana Whitaker', []],
    ],
  )

  const deleted = await db.delete(posts).where(eq(posts.userId, 1))
  assert.equal((deleted as SqlaioRemoteResult).changes, 2)
  assert.equal(await engine.scalar('SELECT count(*) FROM posts'), 1)
  assert.deepEqual(await db.all(sql`SELECT count(*) AS n FROM users`), [[3]])
})

test('db.transaction() commits, rolls back, and nests as savepoints on its own connection', async () => {
  const { engine, db } = await setup()
  await db.transaction(async (tx) => {
    await tx.insert(users).values({ name: 'Isaac' })
    // The engine's own worker sees committed data only.
    assert.equal(await engine.scalar('SELECT count(*) FROM users'), 0)
    await tx
      .transaction(async (inner) => {
        await inner.insert(users).values({ name: 'undone' })
        inner.rollback()
      })
      .catch((error: Error) => assert.match(error.message, /Rollback/))
    await tx.transaction(async (inner) => {
      await inner.insert(users).values({ name: 'Jeremy' })
    })
  })
  const names = async (): Promise<string[]> =>
    (await db.select({ name: users.name }).from(users).orderBy(users.id)).map((u) => u.name)
  assert.deepEqual(await names(), ['Isaac', 'Jeremy'])

  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.insert(users).values({ name: 'Natalie' })
      throw new Error('not today')
    }),
    /not today/,
  )
  assert.deepEqual(await names(), ['Isaac', 'Jeremy'])
})

test('a rolled-back transaction takes no other caller’s writes with it', async () => {
  const { engine, db } = await setup()
  // WAL (persistent in the file) lets a writer commit beside another connection's open read.
  await engine.exec('PRAGMA journal_mode = WAL')
  let release!: () => void
  let started!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const open = new Promise<void>((resolve) => (started = resolve))
  const rolledBack = db.transaction(async (tx) => {
    await tx.select().from(users)
    started()
    await gate
    tx.rollback()
  })
  await open
  // Written outside the transaction while it is open: it must survive the rollback.
  await db.insert(users).values({ name: 'outside' })
  release()
  await assert.rejects(rolledBack, /Rollback/)
  assert.deepEqual(await engine.scalar('SELECT name FROM users'), 'outside')

  // Two transactions at once: each on its own connection, both commit.
  await Promise.all(
    ['a', 'b'].map((name) =>
      db.transaction(async (tx) => {
        await tx.insert(users).values({ name })
      }),
    ),
  )
  assert.equal(await engine.scalar('SELECT count(*) FROM users'), 3)
})

test('raw transaction control outside db.transaction() is refused', async () => {
  const { db } = await setup()
  // Drizzle wraps a failed query's error; the driver's reason is its cause.
  await assert.rejects(db.run(sql`BEGIN`), (error: Error) => /db\.transaction\(\)/.test(String(error.cause)))
  await db.insert(users).values({ name: 'still works' })
})

test('db.batch() is atomic', async () => {
  const { engine, db } = await setup()
  const [inserted, count] = await db.batch([
    db.insert(users).values({ name: 'Kim', email: 'kim@cs.tv' }).returning({ id: users.id }),
    db.select({ n: sql<number>`count(*)` }).from(users),
  ])
  assert.deepEqual(inserted, [{ id: 1 }])
  assert.deepEqual(count, [{ n: 1 }])
  await assert.rejects(
    db.batch([
      db.insert(users).values({ name: 'Elliot' }),
      db.insert(users).values({ name: 'Kim again', email: 'kim@cs.tv' }),
    ]),
    (error: Error & { code?: string }) => error.code === 'SQLITE_CONSTRAINT_UNIQUE',
  )
  assert.equal(await engine.scalar('SELECT count(*) FROM users'), 1)
})

const migrationDirs: string[] = []
after(() => {
  for (const dir of migrationDirs) rmSync(dir, { recursive: true, force: true })
})

/** Writes migrations in drizzle-kit's layout: meta/_journal.json and one SQL file per entry. */
function writeMigrations(dir: string, migrations: { tag: string; when: number; sql: string }[]): void {
  mkdirSync(join(dir, 'meta'), { recursive: true })
  const entries = migrations.map((m, idx) => ({
    idx,
    version: '6',
    when: m.when,
    tag: m.tag,
    breakpoints: true,
  }))
  writeFileSync(
    join(dir, 'meta', '_journal.json'),
    JSON.stringify({ version: '7', dialect: 'sqlite', entries }),
  )
  for (const m of migrations) writeFileSync(join(dir, `${m.tag}.sql`), m.sql)
}

test('migrate() applies new migrations once, in a transaction', async () => {
  const engine = tempEngine()
  const db = drizzle(engine)
  const dir = mkdtempSync(join(tmpdir(), 'sqlaio-drizzle-'))
  migrationDirs.push(dir)
  const first = [
    {
      tag: '0000_init',
      when: 1_700_000_000_000,
      sql: 'CREATE TABLE `shows` (`id` integer PRIMARY KEY NOT NULL, `title` text NOT NULL);\n--> statement-breakpoint\nCREATE INDEX `shows_title` ON `shows` (`title`);',
    },
    { tag: '0001_seed', when: 1_700_000_100_000, sql: "INSERT INTO `shows` VALUES (1, 'Sports Night');" },
  ]
  writeMigrations(dir, first)
  await migrate(db, { migrationsFolder: dir })
  await migrate(db, { migrationsFolder: dir })
  assert.deepEqual(await engine.tableNames(), ['__drizzle_migrations', 'shows'])
  assert.equal(await engine.scalar('SELECT count(*) FROM shows'), 1)
  assert.equal(await engine.scalar('SELECT count(*) FROM __drizzle_migrations'), 2)
  assert.equal(await engine.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'shows_title'"), 1)

  // A failing migration leaves nothing behind, its good statements included.
  writeMigrations(dir, [
    ...first,
    {
      tag: '0002_broken',
      when: 1_700_000_200_000,
      sql: "INSERT INTO `shows` VALUES (2, 'Studio 60');\n--> statement-breakpoint\nINSERT INTO `nope` VALUES (1);",
    },
  ])
  await assert.rejects(migrate(db, { migrationsFolder: dir }), /no such table: nope/)
  assert.equal(await engine.scalar('SELECT count(*) FROM shows'), 1)
  assert.equal(await engine.scalar('SELECT count(*) FROM __drizzle_migrations'), 2)
})

test('a postgresql engine is refused with a clear error (Drizzle would compile SQLite SQL for it)', async () => {
  const engine = createEngine('postgresql://postgres@127.0.0.1:5432/test')
  assert.throws(() => drizzle(engine), /drives SQLite engines; this engine is postgresql/)
  await engine.dispose()
})
