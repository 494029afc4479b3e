/**
 * Transactions, ported from sqlalchemy_aio's test_transaction: commit, rollback, context-style
 * use (success and failure), nested savepoints, and the engine's `transaction(fn)`.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  ClosedError,
  type Connection,
  DatabaseError,
  type Engine,
  SqlaioError,
  Transaction,
} from '../src/index.js'
import { tempEngine } from './helpers.js'

async function setup(): Promise<{ engine: Engine; conn: Connection }> {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x INTEGER)')
  const conn = await engine.connect()
  return { engine, conn }
}

/** Counts rows from another worker, which sees only committed data. */
const committed = (engine: Engine): Promise<unknown> => engine.scalar('SELECT count(*) FROM t')

test('commit makes the changes visible to other connections', async () => {
  const { engine, conn } = await setup()
  const tx = await conn.begin()
  assert.ok(tx instanceof Transaction)
  assert.equal(tx.isActive, true)
  assert.equal(conn.inTransaction, true)
  await conn.execute('INSERT INTO t VALUES (1)')
  await conn.execute('INSERT INTO t VALUES (2)')
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 2)
  assert.equal(await committed(engine), 0)
  await tx.commit()
  assert.equal(tx.isActive, false)
  assert.equal(conn.inTransaction, false)
  assert.equal(await committed(engine), 2)
  await conn.close()
})

test('rollback discards the changes', async () => {
  const { engine, conn } = await setup()
  const tx = await conn.begin()
  await conn.execute('INSERT INTO t VALUES (1)')
  await tx.rollback()
  assert.equal(tx.isActive, false)
  assert.equal(conn.inTransaction, false)
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  assert.equal(await committed(engine), 0)
  await conn.close()
})

test('a finished transaction cannot be committed or rolled back again', async () => {
  const { conn } = await setup()
  const tx = await conn.begin()
  await tx.commit()
  await assert.rejects(tx.commit(), ClosedError)
  await assert.rejects(tx.rollback(), ClosedError)
  // close() on a finished transaction does nothing.
  await tx.close()
  const tx2 = await conn.begin()
  await tx2.rollback()
  await assert.rejects(tx2.commit(), ClosedError)
  await conn.close()
})

test('begin() while a transaction is open rejects and leaves it intact', async () => {
  const { engine, conn } = await setup()
  const tx = await conn.begin()
  await conn.execute('INSERT INTO t VALUES (1)')
  await assert.rejects(
    conn.begin(),
    (e: unknown) =>
      e instanceof SqlaioError && e.code === 'ERR_SQLAIO_TRANSACTION_OPEN' && /already open/.test(e.message),
  )
  assert.equal(tx.isActive, true)
  assert.equal(conn.inTransaction, true)
  await tx.commit()
  assert.equal(await committed(engine), 1)
  await conn.close()
})

test('context style (asyncDispose): commit inside the block, then dispose does nothing', async () => {
  const { engine, conn } = await setup()
  const tx = await conn.begin()
  try {
    await conn.execute('INSERT INTO t VALUES (1)')
    await tx.commit()
  } finally {
    await tx[Symbol.asyncDispose]()
  }
  assert.equal(await committed(engine), 1)
  await conn.close()
})

test('context style (asyncDispose): leaving the block without commit rolls back', async () => {
  const { engine, conn } = await setup()
  const failure = new Error('boom')
  await assert.rejects(async () => {
    const tx = await conn.begin()
    try {
      await conn.execute('INSERT INTO t VALUES (1)')
      throw failure
    } finally {
      await tx[Symbol.asyncDispose]()
    }
  }, failure)
  assert.equal(conn.inTransaction, false)
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 0)
  assert.equal(await committed(engine), 0)
  await conn.close()
})

test('transaction(fn) commits when fn resolves and returns its value', async () => {
  const { engine, conn } = await setup()
  const value = await conn.transaction(async (c) => {
    assert.equal(c, conn)
    assert.equal(c.inTransaction, true)
    const r = await c.execute('INSERT INTO t VALUES (1)')
    return r.lastInsertRowid
  })
  assert.equal(value, 1)
  assert.equal(conn.inTransaction, false)
  assert.equal(await committed(engine), 1)
  await conn.close()
})

test('transaction(fn) rolls back and rethrows the same error when fn throws', async () => {
  const { engine, conn } = await setup()
  const failure = new Error('inside')
  await assert.rejects(
    conn.transaction(async (c) => {
      await c.execute('INSERT INTO t VALUES (1)')
      throw failure
    }),
    (error: unknown) => error === failure,
  )
  assert.equal(conn.inTransaction, false)
  assert.equal(await committed(engine), 0)
  // The connection is fine afterwards.
  await conn.transaction((c) => c.execute('INSERT INTO t VALUES (2)'))
  assert.equal(await committed(engine), 1)
  await conn.close()
})

test('transaction(fn) rolls back when a statement inside fails', async () => {
  const { engine, conn } = await setup()
  await conn.exec('CREATE UNIQUE INDEX tx ON t (x)')
  await assert.rejects(
    conn.transaction(async (c) => {
      await c.execute('INSERT INTO t VALUES (1)')
      await c.execute('INSERT INTO t VALUES (1)')
    }),
    (error: unknown) => error instanceof DatabaseError && error.code === 'SQLITE_CONSTRAINT_UNIQUE',
  )
  assert.equal(conn.inTransaction, false)
  assert.equal(await committed(engine), 0)
  await conn.close()
})

test('nested savepoint: rolling back the inner keeps the outer', async () => {
  const { engine, conn } = await setup()
  const outer = await conn.begin()
  await conn.execute('INSERT INTO t VALUES (1)')
  const inner = await conn.beginNested()
  assert.equal(inner.isActive, true)
  await conn.execute('INSERT INTO t VALUES (2)')
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 2)
  await inner.rollback()
  assert.equal(inner.isActive, false)
  assert.equal(conn.inTransaction, true)
  assert.deepEqual(await (await conn.execute('SELECT x FROM t')).scalars(), [1])
  await outer.commit()
  assert.deepEqual(await (await engine.execute('SELECT x FROM t')).scalars(), [1])
  await conn.close()
})

test('nested savepoint: committing the inner then rolling back the outer discards both', async () => {
  const { engine, conn } = await setup()
  const outer = await conn.begin()
  const inner = await conn.beginNested()
  await conn.execute('INSERT INTO t VALUES (1)')
  await inner.commit()
  assert.equal(conn.inTransaction, true)
  assert.equal(await conn.scalar('SELECT count(*) FROM t'), 1)
  await outer.rollback()
  assert.equal(await committed(engine), 0)
  await conn.close()
})

test('nested savepoints several levels deep', async () => {
  const { engine, conn } = await setup()
  const outer = await conn.begin()
  await conn.execute('INSERT INTO t VALUES (1)')
  const a = await conn.beginNested()
  await conn.execute('INSERT INTO t VALUES (2)')
  const b = await conn.beginNested()
  await conn.execute('INSERT INTO t VALUES (3)')
  await b.commit()
  const c = await conn.beginNested()
  await conn.execute('INSERT INTO t VALUES (4)')
  await c.rollback()
  await a.commit()
  await outer.commit()
  assert.deepEqual(await (await engine.execute('SELECT x FROM t ORDER BY x')).scalars(), [1, 2, 3])
  await conn.close()
})

test('beginNested outside a transaction is a savepoint that acts as a transaction', async () => {
  const { engine, conn } = await setup()
  const sp = await conn.beginNested()
  assert.equal(conn.inTransaction, true)
  await conn.execute('INSERT INTO t VALUES (1)')
  await sp.rollback()
  assert.equal(conn.inTransaction, false)
  const sp2 = await conn.beginNested()
  await conn.execute('INSERT INTO t VALUES (2)')
  await sp2.commit()
  assert.equal(conn.inTransaction, false)
  assert.deepEqual(await (await engine.execute('SELECT x FROM t')).scalars(), [2])
  await conn.close()
})

test('transaction(fn) nests as a savepoint inside an open transaction', async () => {
  const { engine, conn } = await setup()
  await conn.transaction(async (c) => {
    await c.execute('INSERT INTO t VALUES (1)')
    await assert.rejects(
      c.transaction(async (inner) => {
        await inner.execute('INSERT INTO t VALUES (2)')
        throw new Error('inner fails')
      }),
      /inner fails/,
    )
    assert.equal(c.inTransaction, true)
    await c.transaction(async (inner) => {
      await inner.execute('INSERT INTO t VALUES (3)')
    })
    assert.equal(c.inTransaction, true)
  })
  assert.equal(conn.inTransaction, false)
  assert.deepEqual(await (await engine.execute('SELECT x FROM t ORDER BY x')).scalars(), [1, 3])
  await conn.close()
})

test('transaction(fn) rejects a non-function with a TypeError', async () => {
  const { conn } = await setup()
  await assert.rejects(conn.transaction(42 as never), TypeError)
  assert.equal(conn.inTransaction, false)
  await conn.close()
})

test('a failing COMMIT rolls back and throws the commit error', async () => {
  const { engine, conn } = await setup()
  // A deferred foreign key is only checked at COMMIT.
  await conn.exec(`
    PRAGMA foreign_keys = ON;
    CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
  `)
  const tx = await conn.begin()
  await conn.execute('INSERT INTO child VALUES (99)')
  await conn.execute('INSERT INTO t VALUES (1)')
  await assert.rejects(tx.commit(), (error: unknown) => {
    assert.ok(error instanceof DatabaseError)
    assert.equal(error.code, 'SQLITE_CONSTRAINT_FOREIGNKEY')
    return true
  })
  assert.equal(tx.isActive, false)
  assert.equal(conn.inTransaction, false)
  assert.equal(await conn.scalar('SELECT count(*) FROM child'), 0)
  assert.equal(await committed(engine), 0)
  await conn.close()
})

test('transaction(fn) whose commit fails rejects with the commit error and rolls back', async () => {
  const { engine, conn } = await setup()
  await conn.exec(`
    PRAGMA foreign_keys = ON;
    CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
  `)
  await assert.rejects(
    conn.transaction(async (c) => {
      await c.execute('INSERT INTO child VALUES (7)')
      await c.execute('INSERT INTO t VALUES (1)')
    }),
    (error: unknown) => error instanceof DatabaseError && error.code === 'SQLITE_CONSTRAINT_FOREIGNKEY',
  )
  assert.equal(conn.inTransaction, false)
  assert.equal(await committed(engine), 0)
  await conn.close()
})

test('the error that caused a rollback is not hidden when the rollback itself fails', async () => {
  const { conn } = await setup()
  const failure = new Error('original')
  await assert.rejects(
    conn.transaction(async (c) => {
      // End the transaction behind its back: the ROLLBACK that follows has nothing to undo.
      await c.execute('COMMIT')
      throw failure
    }),
    (error: unknown) => error === failure,
  )
  await assert.rejects(
    conn.transaction(async (c) => {
      await c.transaction(async (inner) => {
        // Release every savepoint and the transaction: ROLLBACK TO the inner savepoint fails.
        await inner.execute('COMMIT')
        throw failure
      })
    }),
    (error: unknown) => error === failure,
  )
  assert.equal(conn.inTransaction, false)
  assert.equal(await conn.scalar('SELECT 1'), 1)
  await conn.close()
})

test('engine.transaction commits on success and closes its connection', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x INTEGER)')
  let seen: Connection | undefined
  const value = await engine.transaction(async (conn) => {
    seen = conn
    assert.equal(conn.inTransaction, true)
    await conn.execute('INSERT INTO t VALUES (1)')
    return 'done'
  })
  assert.equal(value, 'done')
  assert.equal(seen?.closed, true)
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 1)
})

test('engine.transaction rolls back and rethrows on failure', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x INTEGER)')
  const failure = new Error('nope')
  let seen: Connection | undefined
  await assert.rejects(
    engine.transaction(async (conn) => {
      seen = conn
      await conn.execute('INSERT INTO t VALUES (1)')
      throw failure
    }),
    (error: unknown) => error === failure,
  )
  assert.equal(seen?.closed, true)
  assert.equal(await engine.scalar('SELECT count(*) FROM t'), 0)
})
